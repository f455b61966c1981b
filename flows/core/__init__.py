"""flows/core"""
