"""netwarden.alerts"""
