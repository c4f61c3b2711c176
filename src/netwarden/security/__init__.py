"""netwarden.security"""
