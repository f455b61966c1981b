"""flows/sop"""
