"""flows/domain"""
