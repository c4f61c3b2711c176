"""Placeholder: this area is being built."""

__all__: list[str] = []
