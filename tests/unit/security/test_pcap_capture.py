"""``pcap capture`` on the loopback interface with real dumpcap and tcpdump, while this test sends datagrams.

Traffic goes only to 127.0.0.1, to a port this test owns; each capture has a BPF filter for that port.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from netwarden.cli.main import main
from netwarden.security.pcap import analyze
from netwarden.security.pcap.capture import CaptureError, CaptureResult, capture

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="capturing on an interface needs root (CAP_NET_RAW)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def while_sending(port: int, run: Callable[[], Any], size: int = 64, deadline: float = 30) -> Any:
    """Run ``run`` in a thread and send UDP datagrams to 127.0.0.1:port until it returns (bounded)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = run()
        except BaseException as exc:  # handed to the test thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    end = time.monotonic() + deadline
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while thread.is_alive() and time.monotonic() < end:
            s.sendto(b"x" * size, ("127.0.0.1", port))
            thread.join(timeout=0.05)
    thread.join(timeout=30)
    if "error" in result:
        raise result["error"]
    return result["value"]


@pytest.mark.parametrize("tool", ["dumpcap", "tcpdump"])
def test_capture_stops_at_count_and_analyzes(tmp_path: Path, tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    port = free_port()
    result: CaptureResult = while_sending(
        port, lambda: capture("lo", tmp_path, bpf=f"udp port {port}", count=5, seconds=20, tool=tool)
    )
    assert (result.tool, result.packets, result.captured, result.stopped_by) == (tool, 5, 5, "count")
    [path] = result.files
    assert Path(path).parent == tmp_path and oct(Path(path).stat().st_mode & 0o777) == "0o600"
    report = analyze(Path(path))
    assert report.packets == 5
    [flow] = report.flows
    assert (flow.proto, flow.dst, flow.dport, flow.packets) == ("udp", "127.0.0.1", port, 5)


def test_capture_stops_at_time_limit(tmp_path: Path) -> None:
    if shutil.which("dumpcap") is None:
        pytest.skip("dumpcap is not installed")
    port = free_port()  # nobody sends to it: the capture can only end by time
    result = capture("lo", tmp_path, bpf=f"udp port {port}", seconds=1)
    assert (result.packets, result.stopped_by) == (0, "time")
    assert result.seconds < 15


def test_ring_buffer_keeps_the_newest_files(tmp_path: Path) -> None:
    if shutil.which("dumpcap") is None:
        pytest.skip("dumpcap is not installed")
    port = free_port()
    result: CaptureResult = while_sending(
        port,
        lambda: capture("lo", tmp_path, bpf=f"udp port {port}", count=60, seconds=20, max_mb=0.004, ring=2),
        size=200,
    )
    assert 1 <= len(result.files) <= 2 and result.stopped_by == "count"
    assert all(Path(f).exists() for f in result.files)
    assert result.packets < result.captured == 60  # the oldest files were dropped


def test_unknown_interface_is_an_error(tmp_path: Path) -> None:
    if shutil.which("dumpcap") is None:
        pytest.skip("dumpcap is not installed")
    with pytest.raises(CaptureError, match="nosuchif0"):
        capture("nosuchif0", tmp_path, seconds=2)


def test_cli_capture_into_data_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("dumpcap") is None and shutil.which("tcpdump") is None:
        pytest.skip("neither dumpcap nor tcpdump is installed")
    port = free_port()
    argv = ["pcap", "capture", "lo", "--filter", f"udp port {port}", "--count", "3", "--seconds", "20"]
    argv += ["--data-dir", str(tmp_path), "--json", "--analyze"]
    assert while_sending(port, lambda: main(argv)) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["capture"]["packets"] == 3 and out["capture"]["stopped_by"] == "count"
    assert Path(out["capture"]["files"][0]).parent == tmp_path / "pcaps"
    assert out["analysis"]["packets"] == 3 and out["analysis"]["flows"][0]["dport"] == port
    assert main(["pcap", "capture", "lo", "--seconds", "0"]) == 1
