"""netwarden.api"""
