"""netwarden.incidents"""
