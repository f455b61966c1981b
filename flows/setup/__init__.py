"""flows/setup"""
