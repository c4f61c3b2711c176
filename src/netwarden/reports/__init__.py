"""netwarden.reports"""
