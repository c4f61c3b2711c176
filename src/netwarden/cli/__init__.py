"""netwarden.cli"""
