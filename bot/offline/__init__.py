"""bot/offline"""
