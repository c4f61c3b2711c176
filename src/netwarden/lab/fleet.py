"""A simulated SNMP fleet: snmpsim agents on many loopback addresses, from recorded real devices.

``fleet_up(n)`` serves ``n`` devices at 127.77.0.1, 127.77.0.2, ... (250 per /24, so
127.0.0.1 and the lab's own addresses never clash), UDP port 1161, each answering
SNMPv2c community ``public`` and the SNMPv3 user ``fleet`` (SHA/AES-128, context
``public``) from one of the recordings in ``fleet_data/`` (kinds assigned
round-robin). The simulator is slow, so every ``PER_PROCESS`` devices get their own
``snmpsim-command-responder`` process, run from a separate venv
(``make fleet-venv``), dropping root to nobody/nogroup once its sockets are bound.

Inside one process each kind is one snmpsim engine whose data dir holds that kind's
recording as ``public.snmprec`` (snmpsim maps community or v3 context ``public`` to
that file name). sysName and lldpLocSysName go through the ``fleet_name`` variation
module, so every device reports its own name.

The state file (``/run/netwarden-lab/fleet/fleet.json``) is written before any
process starts and after each one, so ``fleet_down`` stops everything after a crash;
it also sweeps simulator processes whose command line names the fleet's directory.
"""

from __future__ import annotations

import asyncio
import fcntl
import grp
import ipaddress
import json
import logging
import os
import pwd
import secrets
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from netwarden.collect.snmp import Session, SnmpError, SnmpTimeout, V2c
from netwarden.errors import InvalidInput, LabError, NeedsRoot
from netwarden.lab import netns
from netwarden.lab import state as lab_state
from netwarden.lab.credentials import store_entries

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "fleet_data"
VARIATION_MODULE = DATA_DIR / "variation" / "fleet_name.py"
KINDS: tuple[str, ...] = ("arista_eos", "cisco_ios", "frr", "linux")  # round-robin order
PORT = 1161
COMMUNITY = "public"
V3_USER = "fleet"
MAX_DEVICES = 10_000
PER_PROCESS = 200
PER_SUBNET = 250  # hosts .1-.250 of each /24
FIRST_ADDRESS = ipaddress.IPv4Address("127.77.0.0")
CREDENTIAL_V2C = "fleet-snmp"
CREDENTIAL_V3 = "fleet-snmp-v3"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
# Records answered per device through the fleet_name variation module.
NAMED_OIDS = ("1.3.6.1.2.1.1.5.0", "1.0.8802.1.1.2.1.3.3.0")  # sysName, lldpLocSysName
PROGRAM = "snmpsim-command-responder"
RUN_AS = ("nobody", "nogroup")
LOCK_FILE = Path("/run/lock/netwarden-fleet.lock")
STATE_NAME = "fleet.json"
Progress = Callable[[str, int, int], None]


def venv_dir() -> Path:
    return Path(os.environ.get("NETWARDEN_FLEET_VENV", "/opt/netwarden/snmpsim-venv"))


def fleet_dir() -> Path:
    return lab_state.RUN_ROOT / "fleet"


def state_file() -> Path:
    """Not ``state.json``: a directory of the run root holding that is taken for a lab."""
    return fleet_dir() / STATE_NAME


# ---------------------------------------------------------------- errors


class FleetError(LabError):
    """The simulated fleet cannot be started, read or stopped."""

    code = "fleet-error"


class FleetVenvMissing(FleetError):
    code = "fleet-venv-missing"


class FleetAlreadyUp(FleetError):
    status = 409
    code = "fleet-already-up"


class FleetStartFailed(FleetError):
    code = "fleet-start-failed"


class FleetSizeInvalid(InvalidInput):
    code = "fleet-size-invalid"


# ---------------------------------------------------------------- state


class FleetV3(BaseModel):
    """The SNMPv3 user every simulated device accepts (lab-only test keys, kept in the state file)."""

    model_config = ConfigDict(extra="forbid")
    user: str = V3_USER
    auth_protocol: str = "sha"
    priv_protocol: str = "aes"
    context: str = COMMUNITY
    auth_key: str = Field(repr=False)
    priv_key: str = Field(repr=False)

    def public(self) -> dict[str, str]:
        return {
            "user": self.user,
            "auth_protocol": self.auth_protocol,
            "priv_protocol": self.priv_protocol,
            "context": self.context,
        }


class FleetTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    address: str
    kind: str
    process: int


class FleetProcess(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: int
    pid: int
    endpoints: int
    probe: str  # the endpoint polled for readiness: the last one the process binds
    log: str
    alive: bool = True


class FleetState(BaseModel):
    """What ``fleet_up`` started; ``devices == 0`` means no fleet."""

    model_config = ConfigDict(extra="forbid")
    devices: int = 0
    port: int = PORT
    community: str = COMMUNITY
    v3: FleetV3 | None = None
    kinds: dict[str, int] = {}
    processes: list[FleetProcess] = []
    targets: list[FleetTarget] = []
    run_dir: str = ""
    started: str | None = None
    up_seconds: float | None = None
    credentials_file: str | None = None
    credentials_stored: list[str] = []

    def public(self) -> dict[str, Any]:
        """The JSON shape of ``netwarden lab fleet ... --json`` (no keys)."""
        return {
            "devices": self.devices,
            "port": self.port,
            "community": self.community,
            "v3": self.v3.public() if self.v3 else None,
            "processes": [{"pid": p.pid, "endpoints": p.endpoints, "alive": p.alive} for p in self.processes],
            "kinds": self.kinds,
            "targets": [{"address": t.address, "kind": t.kind, "name": t.name} for t in self.targets],
            "up_seconds": self.up_seconds,
            "credentials_file": self.credentials_file,
            "credentials_stored": self.credentials_stored,
        }

    def save(self) -> None:
        path = Path(self.run_dir) / STATE_NAME
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(self.model_dump_json(indent=1))
        tmp.replace(path)


class FleetDown(BaseModel):
    devices: int
    stopped: int


class KindInfo(BaseModel):
    """What a kind's recording says about itself."""

    kind: str
    sys_object_id: str
    sys_descr: str
    interfaces: int
    records: int


# ---------------------------------------------------------------- layout


def address(index: int) -> str:
    """The loopback address of device ``index`` (0-based): 127.77.0.1 ... 127.77.0.250, 127.77.1.1 ..."""
    subnet, host = divmod(index, PER_SUBNET)
    return str(FIRST_ADDRESS + subnet * 256 + host + 1)


def device_name(index: int, kind: str) -> str:
    return f"fleet-{kind.replace('_', '-')}-{index + 1:05d}"


def layout(devices: int) -> list[list[FleetTarget]]:
    """Targets per process, each process's list ordered as it binds them (by kind, then address).

    Transport IDs (the variation module's key) are ``process * PER_PROCESS + position``.
    """
    procs: list[list[FleetTarget]] = []
    for first in range(0, devices, PER_PROCESS):
        index = len(procs)
        group = [
            FleetTarget(
                name=device_name(i, KINDS[i % len(KINDS)]),
                address=address(i),
                kind=KINDS[i % len(KINDS)],
                process=index,
            )
            for i in range(first, min(first + PER_PROCESS, devices))
        ]
        group.sort(key=lambda t: KINDS.index(t.kind))  # stable: addresses stay in order within a kind
        procs.append(group)
    return procs


def recording(kind: str) -> Path:
    return DATA_DIR / f"{kind}.snmprec"


def _decode(tag: str, value: str) -> str:
    if tag.endswith("x"):
        return bytes.fromhex(value).decode("utf-8", "replace")
    return value


def kind_info(kind: str) -> KindInfo:
    """sysObjectID, sysDescr and interface count read from the kind's recording."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown fleet kind {kind!r}; kinds: {', '.join(KINDS)}")
    found: dict[str, str] = {}
    records = 0
    with recording(kind).open() as fh:
        for line in fh:
            records += 1
            oid, tag, value = line.rstrip("\n").split("|", 2)
            if oid in ("1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.2.1.0"):
                found[oid] = _decode(tag, value)
    return KindInfo(
        kind=kind,
        sys_descr=found.get("1.3.6.1.2.1.1.1.0", ""),
        sys_object_id=found.get("1.3.6.1.2.1.1.2.0", ""),
        interfaces=int(found.get("1.3.6.1.2.1.2.1.0", "0")),
        records=records,
    )


# ---------------------------------------------------------------- checks


def require_root() -> None:
    if os.geteuid() != 0:
        raise NeedsRoot("the simulated fleet needs root (it drops to nobody): run 'sudo netwarden lab fleet ...'")


def require_venv() -> Path:
    program = venv_dir() / "bin" / PROGRAM
    if not os.access(program, os.X_OK):
        raise FleetVenvMissing(f"snmpsim is not installed in {venv_dir()}: run 'make fleet-venv'")
    return program


def _run_as() -> tuple[int, int]:
    try:
        return pwd.getpwnam(RUN_AS[0]).pw_uid, grp.getgrnam(RUN_AS[1]).gr_gid
    except KeyError as exc:
        raise FleetError(f"the simulator runs as {RUN_AS[0]}:{RUN_AS[1]}, which this system lacks") from exc


def _check_size(devices: int) -> None:
    if not 1 <= devices <= MAX_DEVICES:
        raise FleetSizeInvalid(f"--devices must be between 1 and {MAX_DEVICES}, not {devices}")


@contextmanager
def _locked() -> Iterator[None]:
    """One fleet command at a time (two ``up`` must not start two sets of processes)."""
    path = LOCK_FILE if LOCK_FILE.parent.is_dir() else lab_state.RUN_ROOT / ".fleet.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _load() -> FleetState | None:
    path = state_file()
    if not path.exists():
        return None
    try:
        return FleetState.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        log.warning("fleet state %s unreadable (%s): sweeping by command line", path, exc)
        return None


def _ours(pid: int) -> bool:
    """The pid is a live simulator started for this fleet (guards against pid reuse)."""
    if not netns.alive(pid):
        return False
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return PROGRAM in cmd and f"={fleet_dir()}/" in cmd


def _strays() -> list[int]:
    """Simulators of this fleet that the state file does not list (state lost or half-written)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _ours(int(entry.name)):
            pids.append(int(entry.name))
    return pids


# ---------------------------------------------------------------- public API


def fleet_status() -> FleetState:
    """The fleet that is up, with each process's liveness; an empty state (devices 0) when none."""
    require_root()
    state = _load()
    if state is None:
        return FleetState()
    for proc in state.processes:
        proc.alive = _ours(proc.pid)
    return state


def fleet_up(
    devices: int,
    *,
    timeout: float | None = None,
    data_dir: Path | None = None,
    store_credentials: bool = True,
    progress: Progress | None = None,
) -> FleetState:
    """Start ``devices`` simulated agents and wait until every process answers SNMP.

    A fleet of the same size that is already up and healthy is returned as it is; one of
    another size raises :class:`FleetAlreadyUp`. Leftovers of a crashed fleet are swept first.

    Args:
        devices: how many devices (1..MAX_DEVICES).
        timeout: seconds to wait for all processes to answer (default 30 + 2 per process).
        data_dir: the store to put the ``fleet-snmp`` credentials in (default: the configured one).
        store_credentials: put them in the store when one exists.
        progress: called with (step, done, total).
    """
    require_root()
    _check_size(devices)
    program = require_venv()
    uid, gid = _run_as()
    report = progress or (lambda step, done, total: None)
    with _locked():
        existing = _load()
        if existing is not None and existing.processes and all(_ours(p.pid) for p in existing.processes):
            if existing.devices == devices:
                log.info("fleet of %d devices already up", devices)
                return existing
            raise FleetAlreadyUp(
                f"a fleet of {existing.devices} devices is up; 'netwarden lab fleet down' first to start {devices}"
            )
        if existing is not None or _strays() or fleet_dir().exists():
            log.warning("leftovers of a previous fleet found: sweeping them first")
            _teardown(existing)
        started = time.monotonic()
        state = _prepare(devices, uid, gid)
        try:
            _start(state, program, uid, gid, report)
            limit = timeout if timeout is not None else 30 + 2 * len(state.processes)
            asyncio.run(_wait_ready(state, time.monotonic() + limit, report))
        except BaseException:
            _teardown(state)
            raise
        state.up_seconds = round(time.monotonic() - started, 2)
        state.credentials_file = str(_write_credentials(state))
        state.save()
    if store_credentials:
        try:
            stored = store_entries(credential_entries(state), data_dir)
            if stored:
                log.info("fleet credentials stored as %s", ", ".join(stored))
                state.credentials_stored = stored
                with _locked():
                    state.save()
        except Exception as exc:  # the fleet is up; a store problem must not tear it down
            log.warning("could not store the fleet credentials: %s", exc)
    return state


def fleet_down() -> FleetDown:
    """Stop every simulator process of the fleet and remove its files; safe to repeat."""
    require_root()
    with _locked():
        state = _load()
        stopped = _teardown(state)
    return FleetDown(devices=state.devices if state else 0, stopped=stopped)


# ---------------------------------------------------------------- internals


def _teardown(state: FleetState | None) -> int:
    pids = {p.pid for p in (state.processes if state else []) if _ours(p.pid)}
    pids.update(_strays())
    # Each simulator leads its own session, so the group signal also reaches anything it forked.
    netns.stop_pids(sorted(pids), grace=3.0, group=True)
    shutil.rmtree(fleet_dir(), ignore_errors=True)
    if pids:
        log.info("fleet: stopped %d simulator process(es)", len(pids))
    return len(pids)


def _prepare(devices: int, uid: int, gid: int) -> FleetState:
    """The run dir (data per kind, variation module, names), readable by the simulator's user."""
    root = fleet_dir()
    root.mkdir(parents=True, exist_ok=True)
    for path in (lab_state.RUN_ROOT, root):
        path.chmod(path.stat().st_mode | 0o111)  # nobody must traverse to the data
    groups = layout(devices)
    names: dict[int, str] = {}
    for index, group in enumerate(groups):
        for position, target in enumerate(group):
            names[index * PER_PROCESS + position] = target.name
    for kind in KINDS:
        kdir = root / "data" / kind
        kdir.mkdir(parents=True, exist_ok=True)
        kdir.chmod(0o755)
        _write_public(recording(kind), kdir / f"{COMMUNITY}.snmprec")
    vdir = root / "variation"
    vdir.mkdir(exist_ok=True)
    vdir.chmod(0o755)
    shutil.copyfile(VARIATION_MODULE, vdir / VARIATION_MODULE.name)
    (vdir / VARIATION_MODULE.name).chmod(0o644)
    (root / "names.json").write_text(json.dumps(names))
    (root / "names.json").chmod(0o644)
    (root / "data").chmod(0o755)
    for index in range(len(groups)):
        cache = root / "cache" / f"p{index}"
        cache.mkdir(parents=True, exist_ok=True)
        os.chown(cache, uid, gid)
        cache.chmod(0o700)
    targets = sorted((t for group in groups for t in group), key=lambda t: ipaddress.IPv4Address(t.address))
    state = FleetState(
        devices=devices,
        v3=FleetV3(auth_key=secrets.token_hex(12), priv_key=secrets.token_hex(12)),
        kinds=dict(Counter(t.kind for t in targets)),
        targets=targets,
        run_dir=str(root),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    state.save()
    return state


def _write_public(source: Path, dest: Path) -> None:
    """Copy a recording, routing the per-device name records through the fleet_name variation module."""
    named = {f"{oid}|" for oid in NAMED_OIDS}
    with source.open() as src, dest.open("w") as out:
        for line in src:
            head = line[: line.index("|") + 1] if "|" in line else line
            out.write(f"{head}4:fleet_name|\n" if head in named else line)
    dest.chmod(0o644)


def _args_file(state: FleetState, index: int, group: list[FleetTarget]) -> Path:
    """The simulator's engine options: one engine per kind, each with its data dir and endpoints.

    Kept in a root-only file (read before the simulator drops privileges) so the v3 keys
    never show in a process list.
    """
    assert state.v3 is not None
    root = Path(state.run_dir)
    lines: list[str] = []
    for kind in KINDS:
        members = [t for t in group if t.kind == kind]
        if not members:
            continue
        lines += [
            "--v3-engine-id=auto",
            f"--v3-user={state.v3.user}",
            f"--v3-auth-key={state.v3.auth_key}",
            "--v3-auth-proto=SHA",
            f"--v3-priv-key={state.v3.priv_key}",
            "--v3-priv-proto=AES",
            f"--data-dir={root / 'data' / kind}",
        ]
        lines += [f"--agent-udpv4-endpoint={t.address}:{state.port}" for t in members]
    path = root / f"p{index}.args"
    path.touch(mode=0o600)
    path.write_text("\n".join(lines) + "\n")
    return path


def _start(state: FleetState, program: Path, uid: int, gid: int, report: Progress) -> None:
    root = Path(state.run_dir)
    groups = layout(state.devices)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}
    for index, group in enumerate(groups):
        report(f"starting simulator {index + 1}/{len(groups)}", index, len(groups))
        args = _args_file(state, index, group)
        log_path = root / f"p{index}.log"
        argv = [
            str(program),
            f"--process-user={RUN_AS[0]}",
            f"--process-group={RUN_AS[1]}",
            f"--cache-dir={root / 'cache' / f'p{index}'}",
            "--log-level=error",
            f"--variation-modules-dir={root / 'variation'}",
            f"--variation-module-options=fleet_name:{root / 'names.json'}",
            f"--transport-id-offset={index * PER_PROCESS}",
            f"--args-from-file={args}",
        ]
        with open(log_path, "ab") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=root,
                env=env,
            )
        state.processes.append(
            FleetProcess(index=index, pid=proc.pid, endpoints=len(group), probe=group[-1].address, log=str(log_path))
        )
        state.save()


def _log_tail(path: str, lines: int = 3) -> str:
    try:
        text = Path(path).read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return " | ".join(line.strip() for line in text[-lines:]) or "empty log"


async def _wait_ready(state: FleetState, deadline: float, report: Progress) -> None:
    """Poll a real SNMP GET at each process's last endpoint until all answer, or fail at ``deadline``."""
    ready = 0
    total = len(state.processes)

    async def one(proc: FleetProcess) -> None:
        nonlocal ready
        attempts = 0
        while True:
            if not netns.alive(proc.pid):
                raise FleetStartFailed(
                    f"simulator process {proc.index} (pid {proc.pid}) exited: {_log_tail(proc.log)}; see {proc.log}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FleetStartFailed(
                    f"simulator process {proc.index} did not answer SNMP at {proc.probe}:{state.port} "
                    f"after {attempts} tries: {_log_tail(proc.log)}; the machine may be overloaded"
                )
            attempts += 1
            try:
                async with Session(
                    proc.probe, V2c(state.community), port=state.port, timeout=min(0.5, remaining), retries=0
                ) as s:
                    await s.get([SYS_OBJECT_ID])
            except SnmpTimeout:
                continue  # the timeout itself paced this try
            except SnmpError:
                await asyncio.sleep(min(0.1, max(remaining, 0)))  # refused: not bound yet; poll again shortly
                continue
            ready += 1
            report(f"simulators answering {ready}/{total}", ready, total)
            return

    await asyncio.gather(*(one(p) for p in state.processes))


def credential_entries(state: FleetState) -> list[dict[str, Any]]:
    """The fleet's credentials in the format ``netwarden import`` and the credential service read."""
    assert state.v3 is not None
    return [
        {
            "name": CREDENTIAL_V2C,
            "kind": "snmp-v2c",
            "username": "",
            "secret": state.community,
            "params": {"port": state.port},
        },
        {
            "name": CREDENTIAL_V3,
            "kind": "snmp-v3",
            "username": state.v3.user,
            "secret": state.v3.auth_key,
            "priv_secret": state.v3.priv_key,
            "params": {
                "port": state.port,
                "auth_protocol": state.v3.auth_protocol,
                "priv_protocol": state.v3.priv_protocol,
                "context": state.v3.context,
            },
        },
    ]


def _write_credentials(state: FleetState) -> Path:
    path = Path(state.run_dir) / "credentials.yml"
    path.touch(mode=0o600)
    path.write_text(
        "# netwarden simulated fleet credentials (lab-only test keys)\n"
        + yaml.safe_dump({"credentials": credential_entries(state)}, sort_keys=False)
    )
    return path
