"""netwarden.configs"""
