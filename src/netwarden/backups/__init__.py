"""netwarden.backups"""
