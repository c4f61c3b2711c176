"""Detections over normalised log events: built-in rules, Sigma rules, the engine that runs them.

See :mod:`netwarden.security.detect.engine` and docs/decisions/0027-detections-and-incidents.md.
"""
