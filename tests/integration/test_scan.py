"""``netwarden scan`` and ``netwarden risk list`` against real services on loopback addresses.

Two hosts on 127.77.N.0/24 (N from the pid, so parallel runs do not meet):

* ``weak``: an inventory device (cisco_ios, router) with OpenSSH configured with old algorithms,
  nginx serving a login page over HTTP with its version in the Server header, net-snmp answering
  ``public``, an aiosmtpd SMTP server, and a telnet and an FTP greeter (no telnet or FTP daemon is
  installed here: a small asyncio server speaks the first messages of each, telnet negotiation
  included);
* ``strong``: OpenSSH with modern algorithms only, nginx over HTTPS without version and an HTTP
  port that only redirects to it, net-snmp with a private community known as a credential.

The strong host is the control: the scan must find its services and report no finding on it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from netwarden.access.schemas import cli_actor
from netwarden.cli.main import main
from netwarden.context import Context
from netwarden.inventory import service as inventory
from netwarden.inventory.schemas import CredentialIn, CredentialParams, DeviceIn, SiteIn
from netwarden.security.scan import snmpcheck

SSHD = "/usr/sbin/sshd"
SNMPD = "/usr/sbin/snmpd"
NET = f"127.77.{os.getpid() % 250 + 1}"
WEAK, STRONG = f"{NET}.10", f"{NET}.20"
PRIVATE_COMMUNITY = f"nw-scan-{os.getpid()}"

GREETER = r"""
import asyncio, sys

IAC, DONT, DO, WONT, WILL = 255, 254, 253, 252, 251

async def telnet(reader, writer):
    # WILL ECHO, WILL SUPPRESS-GO-AHEAD, DO TERMINAL-TYPE, DO NAWS: then wait for the client's answers,
    # as a router's telnet server does, and show the prompt only once every option was answered.
    writer.write(bytes([IAC, WILL, 1, IAC, WILL, 3, IAC, DO, 24, IAC, DO, 31]))
    await writer.drain()
    got = b""
    try:
        while got.count(bytes([IAC])) < 4:
            chunk = await asyncio.wait_for(reader.read(64), 5)
            if not chunk:
                break
            got += chunk
    except TimeoutError:
        pass
    if got.count(bytes([IAC])) >= 4:
        writer.write(b"\r\n\r\nUser Access Verification\r\n\r\nUsername: ")
        await writer.drain()
    try:
        await asyncio.wait_for(reader.read(64), 5)
    except TimeoutError:
        pass
    writer.close()

async def ftp(reader, writer):
    writer.write(b"220 (vsFTPd 3.0.3)\r\n")
    await writer.drain()
    try:
        if (await asyncio.wait_for(reader.readline(), 5)).upper().startswith(b"QUIT"):
            writer.write(b"221 Goodbye.\r\n")
            await writer.drain()
    except TimeoutError:
        pass
    writer.close()

async def run(host, telnet_port, ftp_port):
    a = await asyncio.start_server(telnet, host, telnet_port)
    b = await asyncio.start_server(ftp, host, ftp_port)
    print("ready", flush=True)
    async with a, b:
        await asyncio.gather(a.serve_forever(), b.serve_forever())

asyncio.run(run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def free_port(address: str, kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not come up in {timeout} s")


def accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Lab:
    dir: Path
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(self, name: str, argv: list[str], ready: Callable[[], bool], env: dict[str, str] | None = None) -> None:
        log = (self.dir / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, start_new_session=True
        )
        wait_until(lambda: ready() or self.procs[name].poll() is not None, name)
        if self.procs[name].poll() is not None:
            raise AssertionError(f"{name} exited: {(self.dir / f'{name}.log').read_text()[-2000:]}")

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        with_group = os.getpgid(proc.pid) if proc.poll() is None else None
        if with_group is not None:
            os.killpg(with_group, signal.SIGTERM)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


def _sshd(lab: Lab, name: str, address: str, extra: list[str], key_types: list[str]) -> None:
    keys = []
    for kind in key_types:
        key = lab.dir / f"{name}_{kind}"
        subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)], check=True)
        keys.append(f"HostKey {key}")
    port = lab.ports[name] = free_port(address)
    conf = lab.dir / f"{name}.conf"
    conf.write_text(
        "\n".join([f"ListenAddress {address}:{port}", *keys, f"PidFile {lab.dir / name}.pid", "UsePAM no", *extra, ""])
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    lab.spawn(name, [SSHD, "-D", "-e", "-f", str(conf)], lambda: accepts(address, port))


def _nginx(lab: Lab, cert: Path, key: Path) -> None:
    for name, address in (("http", WEAK), ("https", STRONG), ("redirect", STRONG)):
        lab.ports[name] = free_port(address)
    root = lab.dir / "www"
    root.mkdir()
    (root / "index.html").write_text("<html><head><title>Router login</title></head><body>login</body></html>\n")
    tmp = lab.dir / "nginx-tmp"
    tmp.mkdir()
    conf = lab.dir / "nginx.conf"
    conf.write_text(
        f"""worker_processes 1;
user root;  # the pytest tmp dir is private to root
daemon off;
pid {lab.dir / "nginx.pid"};
error_log {lab.dir / "nginx-error.log"};
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  server {{ listen {WEAK}:{lab.ports["http"]}; root {root}; }}
  server {{
    listen {STRONG}:{lab.ports["https"]} ssl; server_tokens off;
    ssl_certificate {cert}; ssl_certificate_key {key}; root {root};
  }}
  server {{
    listen {STRONG}:{lab.ports["redirect"]}; server_tokens off; return 301 https://$host:{lab.ports["https"]}/;
  }}
}}
"""
    )
    lab.spawn(
        "nginx",
        ["nginx", "-c", str(conf), "-e", str(lab.dir / "nginx-error.log")],
        lambda: all(accepts(a, lab.ports[n]) for n, a in (("http", WEAK), ("https", STRONG), ("redirect", STRONG))),
    )


def _snmpd(lab: Lab, name: str, address: str, community: str, port: int) -> None:
    state = lab.dir / f"{name}-state"
    state.mkdir()
    conf = lab.dir / f"{name}.conf"
    conf.write_text(f"rocommunity {community} 127.0.0.0/8\nsysDescr netwarden scan test {name}\n")
    argv = [SNMPD, "-f", "-C", "-c", str(conf), "-Lf", str(lab.dir / f"{name}.log"), "-m", "", f"udp:{address}:{port}"]

    def answers() -> bool:
        return asyncio.run(snmpcheck.snmp_get(address, community, port=port, timeout=0.3, retries=0)) is not None

    lab.spawn(name, argv, answers, env={"SNMP_PERSISTENT_DIR": str(state)})


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if os.geteuid() != 0:
        pytest.skip("sshd and snmpd on loopback addresses need root here")
    for tool in (SSHD, SNMPD, "nginx", "openssl", "ssh-keygen"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    lab = Lab(tmp_path_factory.mktemp("scan-lab"))
    try:
        _sshd(
            lab,
            "ssh_weak",
            WEAK,
            [
                "KexAlgorithms +diffie-hellman-group1-sha1,diffie-hellman-group14-sha1",
                "Ciphers +3des-cbc,aes128-cbc",
                "MACs +hmac-md5",
                "HostKeyAlgorithms +ssh-rsa",
            ],
            ["rsa", "ed25519"],
        )
        _sshd(
            lab,
            "ssh_strong",
            STRONG,
            [
                "KexAlgorithms curve25519-sha256,sntrup761x25519-sha512@openssh.com",
                "Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com",
                "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
                "HostKeyAlgorithms ssh-ed25519",
            ],
            ["ed25519"],
        )
        cert, key = lab.dir / "cert.pem", lab.dir / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-subj", "/CN=scan-test", "-days", "2", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
        _nginx(lab, cert, key)
        lab.ports["snmp"] = free_port(WEAK, socket.SOCK_DGRAM)
        _snmpd(lab, "snmp_weak", WEAK, "public", lab.ports["snmp"])
        _snmpd(lab, "snmp_strong", STRONG, PRIVATE_COMMUNITY, lab.ports["snmp"])
        lab.ports["telnet"], lab.ports["ftp"], lab.ports["smtp"] = (free_port(WEAK) for _ in range(3))
        lab.spawn(
            "greeter",
            [sys.executable, "-c", GREETER, WEAK, str(lab.ports["telnet"]), str(lab.ports["ftp"])],
            lambda: accepts(WEAK, lab.ports["telnet"]) and accepts(WEAK, lab.ports["ftp"]),
        )
        lab.spawn(
            "smtp",
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{WEAK}:{lab.ports['smtp']}"],
            lambda: accepts(WEAK, lab.ports["smtp"]),
        )
        lab.ports["closed"] = free_port(WEAK)
        yield lab
    finally:
        lab.stop_all()


@pytest.fixture(scope="module")
def store(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("scan-store")
    ctx = Context.create(data_dir=data)
    actor = cli_actor()
    with ctx.db() as db:
        inventory.add_site(db, actor, SiteIn(name="hq"))
        inventory.add_device(
            db, actor, DeviceIn(name="edge1", site="hq", platform="cisco_ios", role="router", mgmt_ip=WEAK)
        )
        inventory.add_credential(
            db,
            actor,
            ctx.vault,
            CredentialIn(
                name="test-snmp",
                kind="snmp-v2c",
                secret=SecretStr(PRIVATE_COMMUNITY),
                params=CredentialParams(port=lab.ports["snmp"]),
            ),
        )
    return data


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def scan_args(lab: Lab, store: Path, *extra: str) -> list[str]:
    ports = ",".join(str(lab.ports[n]) for n in ("ssh_weak", "ssh_strong", "http", "https", "redirect"))
    ports += "," + ",".join(str(lab.ports[n]) for n in ("telnet", "ftp", "smtp", "closed"))
    return [
        "scan", WEAK, STRONG, "--ports", ports, "--snmp-port", str(lab.ports["snmp"]), "--credential", "test-snmp",
        "--data-dir", str(store), "--json", *extra,
    ]  # fmt: skip


def services_of(doc: dict[str, Any], address: str) -> dict[tuple[int, str], dict[str, Any]]:
    host = next(h for h in doc["hosts"] if h["address"] == address)
    return {(s["port"], s["proto"]): s for s in host["services"]}


def test_scan_names_every_service_with_its_banner(lab: Lab, store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, *scan_args(lab, store, "--no-save"))
    assert code == 0, err
    doc = json.loads(out)
    assert sorted(h["address"] for h in doc["hosts"]) == [WEAK, STRONG]
    weak = services_of(doc, WEAK)
    strong = services_of(doc, STRONG)
    p = lab.ports
    assert sorted(weak) == sorted(
        [(p["ssh_weak"], "tcp"), (p["http"], "tcp"), (p["telnet"], "tcp"), (p["ftp"], "tcp"), (p["smtp"], "tcp"),
         (p["snmp"], "udp")]
    )  # fmt: skip
    assert sorted(strong) == sorted(
        [(p["ssh_strong"], "tcp"), (p["https"], "tcp"), (p["redirect"], "tcp"), (p["snmp"], "udp")]
    )

    version = subprocess.run([SSHD, "-V"], capture_output=True, text=True).stderr.split(",")[0]  # OpenSSH_9.2
    ssh = weak[(p["ssh_weak"], "tcp")]
    assert ssh["service"] == "ssh" and ssh["ssh"]["software"].startswith(version)
    assert ssh["banner"].startswith(f"SSH-2.0-{ssh['ssh']['software']}")
    assert (ssh["product"], ssh["version"]) == ("OpenSSH", ssh["ssh"]["software"].removeprefix("OpenSSH_"))
    assert "diffie-hellman-group1-sha1" in ssh["ssh"]["kex"] and "3des-cbc" in ssh["ssh"]["ciphers"]
    assert "diffie-hellman-group1-sha1" not in strong[(p["ssh_strong"], "tcp")]["ssh"]["kex"]
    assert strong[(p["ssh_strong"], "tcp")]["ssh"]["ciphers"] == ["aes256-gcm@openssh.com", "aes128-gcm@openssh.com"]

    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().split()[-1]
    http = weak[(p["http"], "tcp")]
    assert http["service"] == "http" and not http["tls"]
    assert http["http"]["status"] == 200 and http["http"]["title"] == "Router login"
    assert http["http"]["server"] == nginx_version  # nginx/1.22.1
    assert (http["product"], http["version"]) == ("nginx", nginx_version.split("/")[1])
    https = strong[(p["https"], "tcp")]
    assert https["service"] == "https" and https["tls"] and https["http"]["server"] == "nginx"
    redirect = strong[(p["redirect"], "tcp")]["http"]
    assert redirect["status"] == 301 and redirect["location"].startswith("https://")

    telnet = weak[(p["telnet"], "tcp")]
    assert telnet["service"] == "telnet" and telnet["banner"].endswith("Username:")  # only after our refusals
    ftp = weak[(p["ftp"], "tcp")]
    assert ftp["service"] == "ftp" and ftp["banner"] == "220 (vsFTPd 3.0.3)" and ftp["version"] == "3.0.3"
    smtp = weak[(p["smtp"], "tcp")]
    assert smtp["service"] == "smtp" and smtp["banner"].startswith("220 ")

    snmp_weak = weak[(p["snmp"], "udp")]["snmp"]
    assert snmp_weak["versions"] == ["v1", "v2c"] and snmp_weak["default_communities"] == ["public"]
    assert snmp_weak["sys_descr"] == "netwarden scan test snmp_weak"
    snmp_strong = strong[(p["snmp"], "udp")]["snmp"]
    assert snmp_strong["default_communities"] == [] and snmp_strong["credentials"] == ["test-snmp"]
    host = next(h for h in doc["hosts"] if h["address"] == WEAK)
    assert (host["device"], host["platform"]) == ("edge1", "cisco_ios")


def findings_of(doc: dict[str, Any], address: str) -> dict[str, dict[str, Any]]:
    return {f["kind"]: f for f in doc["findings"] if f["address"] == address}


def test_weak_settings_are_found_and_the_control_host_has_none(
    lab: Lab, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, *scan_args(lab, store, "--no-save"))
    assert code == 0, err
    doc = json.loads(out)
    assert findings_of(doc, STRONG) == {}
    weak = findings_of(doc, WEAK)
    assert sorted(weak) == sorted(
        ["telnet", "ftp", "http-management", "http-server-version", "snmp-default-community", "ssh-weak-kex",
         "ssh-weak-cipher", "ssh-weak-mac", "ssh-weak-hostkey"]
    )  # fmt: skip
    p = lab.ports
    assert (weak["telnet"]["port"], weak["telnet"]["target"], weak["telnet"]["device"]) == (
        p["telnet"],
        "edge1",
        "edge1",
    )
    assert "transport input ssh" in weak["telnet"]["remediation"]  # the device is cisco_ios: its own words
    assert (
        weak["snmp-default-community"]["proto"] == "udp" and "'public'" in weak["snmp-default-community"]["evidence"][0]
    )
    evidence = " ".join(weak["ssh-weak-kex"]["evidence"] + weak["ssh-weak-cipher"]["evidence"])
    assert "diffie-hellman-group1-sha1" in evidence and "diffie-hellman-group14-sha1" in evidence
    assert "3des-cbc" in evidence and "aes128-cbc" in evidence
    assert any("hmac-md5" in e for e in weak["ssh-weak-mac"]["evidence"])
    assert [e.split()[2] for e in weak["ssh-weak-hostkey"]["evidence"]] == ["ssh-rsa"]
    for finding in weak.values():
        assert finding["score"] == round(finding["severity"] * finding["exposure"], 1)
        assert finding["remediation"]
    # The worst first: telnet (8.1) and group1 key exchange (7.4) outrank a version disclosure (2.6).
    scores = [f["score"] for f in doc["findings"]]
    assert scores == sorted(scores, reverse=True)
    assert weak["telnet"]["level"] == "high" and weak["http-server-version"]["level"] == "low"


def test_register_keeps_ids_and_resolves_what_is_gone(
    lab: Lab, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, *scan_args(lab, store))
    assert code == 0, err
    first = json.loads(out)
    assert first["saved"]
    code, out, _ = cli(capsys, "risk", "list", "--data-dir", str(store), "--json")
    listed = json.loads(out)
    assert sorted(r["id"] for r in listed) == sorted(f["id"] for f in first["findings"])
    assert {r["status"] for r in listed} == {"open"}
    telnet_id = next(f["id"] for f in first["findings"] if f["kind"] == "telnet")

    lab.stop("greeter")  # telnet and FTP go away
    code, out, err = cli(capsys, *scan_args(lab, store))
    assert code == 0, err
    second = json.loads(out)
    assert {f["kind"] for f in second["findings"]} == {f["kind"] for f in first["findings"]} - {"telnet", "ftp"}
    code, out, _ = cli(capsys, "risk", "list", "--data-dir", str(store), "--status", "all", "--json")
    entries = {r["id"]: r for r in json.loads(out)}
    assert entries[telnet_id]["status"] == "resolved" and entries[telnet_id]["resolved_at"]
    still = [r for r in entries.values() if r["status"] == "open"]
    assert sorted(r["id"] for r in still) == sorted(f["id"] for f in second["findings"])
    for entry in still:  # seen twice: first seen at the first scan, last seen at the second
        assert entry["first_seen"] < entry["last_seen"]
    code, out, _ = cli(capsys, "risk", "list", "--data-dir", str(store), "--level", "high", "--json")
    high = json.loads(out)
    assert high and {r["level"] for r in high} <= {"critical", "high"}
    assert sorted(r["id"] for r in high) == sorted(r["id"] for r in still if r["level"] in ("critical", "high"))
    code, out, _ = cli(capsys, "risk", "show", telnet_id[:8], "--data-dir", str(store), "--json")
    assert code == 0 and json.loads(out) == entries[telnet_id]
    code, _, err = cli(capsys, "risk", "show", "ffffffffffff", "--data-dir", str(store))
    assert code == 1 and "no risk" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "10.0.0.0/33"], "invalid CIDR"),
        (["scan", "127.0.0.1", "--ports", "0-5"], "invalid port range"),
        (["scan", "127.0.0.1", "--credential", "nope"], "nope"),
        (["risk", "list", "--status", "gone"], "invalid --status"),
    ],
)
def test_bad_input_is_one_line(store: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err = cli(capsys, *args, "--data-dir", str(store))
    assert code != 0 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_ssh_algorithms_agree_with_nmap(lab: Lab, store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Our KEXINIT reading equals nmap's ssh2-enum-algos on the same two servers, list for list."""
    if shutil.which("nmap") is None:
        pytest.skip("nmap is not installed")
    import xml.etree.ElementTree as ET

    code, out, err = cli(capsys, *scan_args(lab, store, "--no-save", "--no-snmp"))
    assert code == 0, err
    doc = json.loads(out)
    for name, address in (("ssh_weak", WEAK), ("ssh_strong", STRONG)):
        port = lab.ports[name]
        xml = subprocess.run(
            ["nmap", "-Pn", "-n", "-sV", "--version-light", "-p", str(port), "--script", "ssh2-enum-algos",
             "-oX", "-", address],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
        tables = {
            t.get("key"): [e.text for e in t.findall("elem")] for t in ET.fromstring(xml).iter("table") if t.get("key")
        }
        ours = services_of(doc, address)[(port, "tcp")]["ssh"]
        assert ours["kex"] == tables["kex_algorithms"]
        assert ours["host_keys"] == tables["server_host_key_algorithms"]
        assert ours["ciphers"] == tables["encryption_algorithms"]
        assert ours["macs"] == tables["mac_algorithms"]
        assert ours["compression"] == tables["compression_algorithms"]


SAMPLE_FEED = Path(__file__).resolve().parents[1] / "data" / "scan" / "nvd-cve-2.0-sample.json"
# What the sample feed says about the versions Debian 12 ships (checked by hand against its ranges).
KNOWN_CVES = {
    ("OpenSSH", "9.2p1"): {"CVE-2024-6387", "CVE-2023-38408"},
    ("nginx", "1.22.1"): {"CVE-2024-7347"},  # CVE-2022-41741 was fixed in 1.22.1
}


def test_versions_in_banners_are_matched_against_the_feed(
    lab: Lab, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, *scan_args(lab, store, "--no-save", "--no-snmp", "--feed", str(SAMPLE_FEED)))
    assert code == 0, err
    doc = json.loads(out)
    assert [(f["path"], f["entries"]) for f in doc["feeds"]] == [(str(SAMPLE_FEED), 9)]
    weak_services = services_of(doc, WEAK)
    seen = {(s["product"], s["version"]) for s in weak_services.values() if s["product"]}
    if not set(KNOWN_CVES) <= seen:
        pytest.skip(f"this machine runs {sorted(seen)}, not the Debian 12 versions the expectations are for")
    vulns = [f for f in doc["findings"] if f["kind"] == "vulnerability"]
    on_weak = {f["cve"] for f in vulns if f["address"] == WEAK}
    on_strong = {f["cve"] for f in vulns if f["address"] == STRONG}
    assert on_weak == KNOWN_CVES[("OpenSSH", "9.2p1")] | KNOWN_CVES[("nginx", "1.22.1")]
    assert on_strong == KNOWN_CVES[("OpenSSH", "9.2p1")]  # its nginx hides the version: nothing to match
    regresshion = next(f for f in vulns if f["cve"] == "CVE-2024-6387" and f["address"] == WEAK)
    assert (regresshion["port"], regresshion["score"], regresshion["source"]) == (
        lab.ports["ssh_weak"],
        8.1,
        SAMPLE_FEED.name,
    )
    assert any("Debian" in e and "backported" in e for e in regresshion["evidence"])
    mp4 = next(f for f in vulns if f["cve"] == "CVE-2024-7347")
    assert (mp4["exposure"], mp4["score"], mp4["level"]) == (0.4, 1.9, "low")  # a local attack vector
