"""netwarden.changes"""
