"""Exposure scans: open ports and service banners, weak management settings, known vulnerabilities
of the software found, scored into a risk register. See docs/decisions/0028-exposure-scan.md."""
