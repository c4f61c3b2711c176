"""netwarden.discover"""
