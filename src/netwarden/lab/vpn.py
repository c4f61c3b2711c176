"""The site-to-site VPN: WireGuard in user space (wireguard-go over TUN).

This kernel has no WireGuard module; wireguard-go gives a real encrypted
tunnel with a real interface (visible in IF-MIB) and handshakes that
``wg show`` reports. Each tunnel interface name carries the lab prefix
because wireguard-go's control socket lives in the host-wide
``/var/run/wireguard/<ifname>.sock``.
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from netwarden.lab import netns
from netwarden.lab.plan import PlannedVpn
from netwarden.lab.state import LabState, Proc

WG_SOCK_DIR = Path("/var/run/wireguard")


def keypair() -> tuple[str, str]:
    """A WireGuard key pair (base64 private, base64 public) without calling ``wg genkey``."""
    key = X25519PrivateKey.generate()
    priv = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(priv).decode(), base64.b64encode(pub).decode()


def start(state: LabState, vpn: PlannedVpn) -> list[Proc]:
    """Bring both ends of the tunnel up; returns the two wireguard-go processes."""
    keys = {vpn.a: keypair(), vpn.b: keypair()}
    ends = (
        (vpn.a, vpn.a_ifname, vpn.a_tunnel, vpn.b, vpn.b_underlay),
        (vpn.b, vpn.b_ifname, vpn.b_tunnel, vpn.a, vpn.a_underlay),
    )
    procs = []
    for me, ifname, tunnel, peer, peer_ip in ends:
        node = state.plan.node(me)
        ndir = state.node_dir(me)
        sock = WG_SOCK_DIR / f"{ifname}.sock"
        sock.unlink(missing_ok=True)
        argv = netns.in_node(node.namespace, state.uts(me), ["wireguard-go", "-f", ifname])
        pid = netns.spawn(argv, ndir / "log" / f"{ifname}.log", env={"LOG_LEVEL": "error"})
        procs.append(Proc(node=me, name=f"wireguard-go:{ifname}", pid=pid, group=True))
        netns.wait_for(sock.exists, 10, f"wireguard-go on {me}")
        keyfile = ndir / f"{ifname}.key"
        keyfile.write_text(keys[me][0] + "\n")
        keyfile.chmod(0o600)
        netns.run(
            [
                "ip", "netns", "exec", node.namespace, "wg", "set", ifname,
                "listen-port", str(vpn.port), "private-key", str(keyfile),
                "peer", keys[peer][1], "endpoint", f"{peer_ip}:{vpn.port}",
                "allowed-ips", "0.0.0.0/0", "persistent-keepalive", "5",
            ]
        )  # fmt: skip
        netns.batch(node.namespace, [f"addr add {tunnel} dev {ifname}", f"link set {ifname} mtu 1420 up"])
    return procs


def cleanup(prefix: str) -> None:
    if WG_SOCK_DIR.exists():
        for sock in WG_SOCK_DIR.glob(f"{prefix}-wg*.sock"):
            sock.unlink(missing_ok=True)
