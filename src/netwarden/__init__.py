"""netwarden: a network operations center in one Python package."""

__version__ = "0.1.0"
