"""netwarden.access"""
