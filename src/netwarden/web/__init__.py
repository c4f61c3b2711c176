"""netwarden.web"""
