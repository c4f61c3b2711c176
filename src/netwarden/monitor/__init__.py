"""netwarden.monitor"""
