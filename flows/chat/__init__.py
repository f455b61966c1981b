"""flows/chat"""
