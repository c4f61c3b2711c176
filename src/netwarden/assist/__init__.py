"""netwarden.assist"""
