"""netwarden.lab"""
