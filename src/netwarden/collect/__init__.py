"""netwarden.collect"""
