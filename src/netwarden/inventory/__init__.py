"""netwarden.inventory"""
