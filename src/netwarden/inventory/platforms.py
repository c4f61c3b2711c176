"""Platform names netwarden knows (netmiko / ntc-templates convention plus a few of its own).

The collect package's per-platform YAML files extend this list; inventory only
needs the names to reject typos such as ``cisco-ios``.
"""

from __future__ import annotations

from netwarden.errors import InvalidInput

KNOWN_PLATFORMS: frozenset[str] = frozenset(
    {
        "cisco_ios",
        "cisco_xe",
        "cisco_xr",
        "cisco_nxos",
        "cisco_asa",
        "arista_eos",
        "juniper_junos",
        "linux",
        "frr",
        "nftables",
        "iptables",
        "capirca",
        "paloalto_panos",
        "fortinet",
        "mikrotik_routeros",
        "hp_procurve",
        "generic",
    }
)


def check_platform(name: str) -> str:
    if name not in KNOWN_PLATFORMS:
        raise InvalidInput(f"unknown platform {name!r}; known platforms: {', '.join(sorted(KNOWN_PLATFORMS))}")
    return name
