"""netwarden.jobs"""
