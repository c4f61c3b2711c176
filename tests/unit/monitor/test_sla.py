"""The E-model's MOS and the reading of ping output (a real ping to 127.0.0.1 among them)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netwarden.monitor.sla import SlaProbeFailed, from_ping_output, mos, r_factor


def test_a_clean_lan_path_is_toll_quality() -> None:
    r = r_factor(rtt_ms=20, jitter_ms=0, loss_pct=0)
    assert 92 < r < 93.2
    assert 4.3 < mos(r) <= 4.5


def test_known_loss_figure() -> None:
    # G.711 without concealment: Ie_eff = 95 * 5 / (5 + 4.3) = 51.08 at 5 % random loss.
    r = r_factor(rtt_ms=0, jitter_ms=0, loss_pct=5)
    assert abs(r - (93.2 - 0.024 * 10.125 - 95 * 5 / 9.3)) < 1e-9
    assert 1.5 < mos(r) < 2.5


def test_mos_bounds() -> None:
    assert mos(-5) == 1.0 and mos(120) == 4.5
    assert r_factor(rtt_ms=5000, jitter_ms=500, loss_pct=100) == 0.0


figures = st.floats(0, 2000), st.floats(0, 200), st.floats(0, 100)


@given(*figures, st.floats(0, 500))
def test_more_latency_never_raises_mos(rtt: float, jitter: float, loss: float, extra: float) -> None:
    assert mos(r_factor(rtt + extra, jitter, loss)) <= mos(r_factor(rtt, jitter, loss)) + 1e-12


@given(*figures, st.floats(0, 100))
def test_more_loss_never_raises_mos(rtt: float, jitter: float, loss: float, extra: float) -> None:
    assert mos(r_factor(rtt, jitter, min(100, loss + extra))) <= mos(r_factor(rtt, jitter, loss)) + 1e-12


def test_reads_iputils_output_with_loss() -> None:
    text = """PING 10.2.30.2 (10.2.30.2) 56(84) bytes of data.
64 bytes from 10.2.30.2: icmp_seq=1 ttl=61 time=1.00 ms
64 bytes from 10.2.30.2: icmp_seq=2 ttl=61 time=3.00 ms
64 bytes from 10.2.30.2: icmp_seq=4 ttl=61 time=2.00 ms

--- 10.2.30.2 ping statistics ---
4 packets transmitted, 3 received, 25% packet loss, time 603ms
"""
    got = from_ping_output(text, "h1", "h2")
    assert (got.sent, got.received, got.loss_pct, got.rtt_avg_ms, got.jitter_ms) == (4, 3, 25.0, 2.0, 1.5)
    assert got.mos < 3


def test_reads_a_real_ping() -> None:
    if shutil.which("ping") is None:
        pytest.skip("iputils-ping is not installed (make test installs it)")
    out = subprocess.run(["ping", "-n", "-c", "5", "-i", "0.2", "127.0.0.1"], capture_output=True, text=True).stdout
    got = from_ping_output(out, "here", "127.0.0.1")
    assert (got.sent, got.received, got.loss_pct) == (5, 5, 0.0)
    assert got.mos > 4.3


def test_output_without_a_summary_is_a_clear_failure() -> None:
    with pytest.raises(SlaProbeFailed, match="no ping summary"):
        from_ping_output("% Unknown command", "r1", "10.0.0.1")
