"""bot/workers"""
