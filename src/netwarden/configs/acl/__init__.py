"""Exact ACL and firewall filter analysis: one model for every platform (model.py), header-space sets
(space.py), per-rule reachability, queries and equivalence (analyze.py), parsers looked up by platform
name (registry.py)."""
