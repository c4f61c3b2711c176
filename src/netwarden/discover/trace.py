"""A real traceroute from a device (over its CLI), to compare with the computed path."""

from __future__ import annotations

import ipaddress
import re

from netwarden.access.schemas import Actor
from netwarden.context import Context
from netwarden.errors import InvalidInput, NetwardenError

# Which command traces on which platform (vendor knowledge kept as data, in one place).
TRACEROUTE_COMMANDS = {
    "linux": "traceroute -n -q 1 -w 1 -m 16 {ip}",
    "frr": "traceroute {ip}",
    "cisco_ios": "traceroute {ip} numeric timeout 1 probe 1",
    "cisco_nxos": "traceroute {ip}",
    "arista_eos": "traceroute {ip} -n -q 1 -w 1",
    "juniper_junos": "traceroute {ip} no-resolve wait 1",
}
_HOP = re.compile(r"^\s*(\d+)\s+(.*)$")
_ADDR = re.compile(r"(?<![\d.:])((?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F:]*:[0-9a-fA-F:]+)(?![\d.:])")


class TracerouteFailed(NetwardenError):
    status = 502
    code = "traceroute-failed"


def parse_traceroute(text: str) -> list[str | None]:
    """The first address answering at each hop (None for a hop of ``*``), in hop order."""
    hops: dict[int, str | None] = {}
    for line in text.splitlines():
        m = _HOP.match(line)
        if not m:
            continue
        n, rest = int(m.group(1)), m.group(2)
        addr = None
        for cand in _ADDR.findall(rest):
            try:
                addr = str(ipaddress.ip_address(cand))
                break
            except ValueError:
                continue
        if n not in hops or hops[n] is None:
            hops[n] = addr
    return [hops[n] for n in sorted(hops)]


async def traceroute_from(
    ctx: Context, actor: Actor, device: str, ip: str, credential: str, timeout: float = 60.0
) -> list[str | None]:
    """Run traceroute on ``device`` over SSH with the named credential; the hops it saw."""
    from netwarden.collect import ssh
    from netwarden.inventory import service
    from netwarden.inventory.credentials import reveal_credential

    with ctx.db() as db:
        dev = service.get_device(db, device)
        platform, target = dev.platform, dev.mgmt_ip
        cred = reveal_credential(db, actor, ctx.vault, credential)
    command = TRACEROUTE_COMMANDS.get(platform)
    if command is None or target is None:
        raise InvalidInput(f"cannot run traceroute on {device}: no CLI traceroute for {platform} or no management IP")
    result = await ssh.run_commands(target, cred, platform, [command.format(ip=ip)], timeout=timeout)
    if not result.ok or result.value is None:
        raise TracerouteFailed(f"traceroute on {device} failed: {result.describe()}")
    return parse_traceroute(next(iter(result.value.values()), ""))
