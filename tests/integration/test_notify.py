"""Alert notifications through apprise to a real local SMTP server (aiosmtpd) and a real webhook receiver."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from netwarden.access.schemas import SYSTEM
from netwarden.alerts.notify import Notice, Notifier, Route, digest_loop, load_routes, parse_routes, store_credentials
from netwarden.alerts.schemas import AlertOut
from netwarden.config import Settings
from netwarden.context import Context
from netwarden.errors import ConfigError
from netwarden.inventory.credentials import add_credential
from netwarden.inventory.schemas import CredentialIn
from tests.support.receivers import (
    SMTP_PASSWORD,
    SMTP_USER,
    Hooks,
    Mailbox,
    free_port,
    running_hooks,
    running_smtp,
    text_of,
)

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
BASE = "http://nw.example.test:8080"


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    with running_smtp() as box:
        yield box


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    with running_hooks() as store:
        yield store


# --- alerts -----------------------------------------------------------------------------------------------------


def alert(id: int, device: str, severity: str = "critical", **kw: Any) -> AlertOut:
    values: dict[str, Any] = {
        "id": id,
        "state": "open",
        "severity": severity,
        "device": device,
        "summary": f"{device} down",
        "root_cause": device,
        "impact": [],
        "impact_sites": [],
        "subject": device,
        "kind": "device_down",
        "count": 1,
        "first_seen": T0,
        "last_seen": T0,
    }
    values.update(kw)
    return AlertOut.model_validate(values)


def opened(a: AlertOut) -> Notice:
    return Notice(alert=a, transition="opened")


def route(name: str, *urls: str, **kw: Any) -> Route:
    return Route.model_validate({"name": name, "urls": list(urls), **kw})


# --- tests ------------------------------------------------------------------------------------------------------


def test_opened_critical_alert_reaches_email_and_webhook(
    smtp: Mailbox, hooks: Hooks, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    notifier = Notifier([route("noc-mail", smtp.url()), route("noc-hook", hooks.url())], base_url=BASE)
    a = alert(7, "r5", impact=["r6", "r7", "sw-b1"], impact_sites=["branch"], root_cause="r5")
    result = asyncio.run(notifier.send([opened(a)]))

    assert result.failed == []
    assert sorted(d.route for d in result.sent) == ["noc-hook", "noc-mail"]
    assert all(d.alerts == [7] and d.kind == "alert" for d in result.sent)

    assert smtp.logins == [(SMTP_USER, SMTP_PASSWORD)]
    assert smtp.recipients == [["noc@example.net"]]
    assert smtp.subjects() == ["[CRITICAL] r5 down"]
    mail = text_of(smtp.messages[0])
    for expected in ("Alert #7 opened: r5 down", "Impact: 3 device(s): r6, r7, sw-b1", "Impacted sites: branch"):
        assert expected in mail
    assert "Root cause: r5 itself" in mail
    assert f"{BASE}/alerts/7" in mail

    [(path, post)] = hooks.posts
    assert path == "/hook"
    assert post["title"] == "[CRITICAL] r5 down"
    assert post["type"] == "failure"
    assert "Impact: 3 device(s): r6, r7, sw-b1" in post["message"]
    assert f"{BASE}/alerts/7" in post["message"]

    # The SMTP password shows nowhere: not in the result, not in the logs.
    assert "pa/ss" not in result.model_dump_json()
    assert "pa%2Fss" not in result.model_dump_json()
    assert "****" in next(d.url for d in result.sent if d.route == "noc-mail")
    assert not any("pa/ss" in r.getMessage() or "pa/ss" in str(getattr(r, "kv", "")) for r in caplog.records)


def test_min_severity_filters(hooks: Hooks) -> None:
    notifier = Notifier([route("pager", hooks.url(), min_severity="major")], base_url=BASE)
    notices = [
        opened(alert(1, "r1", "minor")),
        opened(alert(2, "r2", "major")),
        opened(alert(3, "r3", "warning")),
        opened(alert(4, "r4", "critical")),
    ]
    result = asyncio.run(notifier.send(notices))
    assert sorted(hooks.titles()) == ["[CRITICAL] r4 down", "[MAJOR] r2 down"]
    assert result.unrouted == 2
    assert sorted(a for d in result.sent for a in d.alerts) == [2, 4]


def test_device_site_and_kind_globs_route_alerts(hooks: Hooks) -> None:
    sites = {"core-r1": "hq", "core-r2": "hq", "edge-r2": "branch-1", "sw-b1": "branch-1", "srv1": "dc"}
    notifier = Notifier(
        [
            route("core", hooks.url("/core"), devices=["core-*"]),
            route("branch", hooks.url("/branch"), sites=["branch-*"]),
            route("links", hooks.url("/links"), kinds=["link_*"]),
        ],
        base_url=BASE,
        site_of=sites.get,
    )
    notices = [
        opened(alert(1, "core-r2")),
        opened(alert(2, "sw-b1")),
        opened(alert(3, "core-r1--edge-r2", kind="link_down", summary="link core-r1--edge-r2 down")),
        opened(alert(4, "srv1")),
        # A device at hq whose failure cuts off a branch: the branch team hears about it.
        opened(alert(5, "core-r1", impact=["sw-b9"], impact_sites=["branch-9"], summary="core-r1 down")),
    ]
    result = asyncio.run(notifier.send(notices))
    assert sorted(hooks.titles("/core")) == [
        "[CRITICAL] core-r1 down",
        "[CRITICAL] core-r2 down",
        "[CRITICAL] link core-r1--edge-r2 down",
    ]
    assert sorted(hooks.titles("/branch")) == [
        "[CRITICAL] core-r1 down",
        "[CRITICAL] link core-r1--edge-r2 down",
        "[CRITICAL] sw-b1 down",
    ]
    assert hooks.titles("/links") == ["[CRITICAL] link core-r1--edge-r2 down"]
    assert result.unrouted == 1  # srv1 in dc: no route wants it
    assert result.failed == []


def test_rate_limit_holds_the_excess_for_one_summary(hooks: Hooks) -> None:
    notifier = Notifier([route("limited", hooks.url(), max_per_hour=2)], base_url=BASE)
    first = asyncio.run(notifier.send([opened(alert(i, f"r{i}")) for i in range(1, 6)], now=T0))
    assert hooks.titles() == ["[CRITICAL] r1 down", "[CRITICAL] r2 down"]
    assert (len(first.sent), first.held) == (2, 3)

    # While a summary waits, a new alert joins it rather than jumping the queue.
    later = asyncio.run(notifier.send([opened(alert(6, "r6"))], now=T0 + dt.timedelta(minutes=30)))
    assert (later.sent, later.held) == ([], 1)
    # Within the hour the limit still holds: nothing goes out.
    early = asyncio.run(notifier.flush(now=T0 + dt.timedelta(minutes=40)))
    assert early.sent == [] and len(hooks.posts) == 2

    summary = asyncio.run(notifier.flush(now=T0 + dt.timedelta(minutes=61)))
    [delivery] = summary.sent
    assert (delivery.kind, delivery.alerts) == ("summary", [3, 4, 5, 6])
    assert len(hooks.posts) == 3
    title, message = hooks.posts[2][1]["title"], hooks.posts[2][1]["message"]
    assert title.startswith("[SUMMARY] 4 alert(s)")
    assert "4 notice(s)" in message
    for i in (3, 4, 5, 6):
        assert f"#{i} [CRITICAL] r{i} down - opened; now open" in message
    [stats] = notifier.stats()
    assert (stats.messages_sent, stats.notices_held, stats.pending_notices) == (3, 4, 0)

    # Once the summary is out and the hour allows it, alerts go out one by one again.
    after = asyncio.run(notifier.send([opened(alert(7, "r7"))], now=T0 + dt.timedelta(minutes=125)))
    assert [d.kind for d in after.sent] == ["alert"]
    assert hooks.titles()[-1] == "[CRITICAL] r7 down"


def test_digest_route_sends_one_message_with_all_alerts(smtp: Mailbox, hooks: Hooks) -> None:
    notifier = Notifier(
        [route("digest", smtp.url(to="managers@example.net"), digest_minutes=15), route("now", hooks.url())],
        base_url=BASE,
    )
    notices = [opened(alert(11, "r1")), opened(alert(12, "sw-2", "minor")), opened(alert(13, "ap-3", "warning"))]
    result = asyncio.run(notifier.send(notices, now=T0))
    assert result.queued == 3
    assert len(hooks.posts) == 3 and smtp.messages == []

    assert asyncio.run(notifier.flush(now=T0 + dt.timedelta(minutes=5))).sent == []
    # A later change of a queued alert updates its line instead of adding another.
    resolved = alert(12, "sw-2", "minor", state="resolved", resolved_at=T0, resolved_by="auto")
    asyncio.run(notifier.send([Notice(alert=resolved, transition="resolved")], now=T0 + dt.timedelta(minutes=6)))
    assert smtp.messages == []

    flushed = asyncio.run(notifier.flush(now=T0 + dt.timedelta(minutes=15)))
    [delivery] = flushed.sent
    assert (delivery.kind, delivery.alerts) == ("digest", [11, 12, 13])
    [msg] = smtp.messages
    assert smtp.recipients == [["managers@example.net"]]
    assert str(msg["Subject"]) == "[DIGEST] 3 alert(s) for digest: 1 critical, 1 minor, 1 warning"
    text = text_of(msg)
    assert "#11 [CRITICAL] r1 down - opened; now open" in text
    assert "#12 [MINOR] sw-2 down - opened, resolved; now resolved" in text
    assert "#13 [WARNING] ap-3 down - opened; now open" in text
    assert f"{BASE}/alerts/13" in text
    assert asyncio.run(notifier.flush(now=T0 + dt.timedelta(minutes=40))).sent == []  # nothing left


def test_resolved_and_other_transitions(hooks: Hooks) -> None:
    notifier = Notifier(
        [route("default", hooks.url("/d")), route("acks", hooks.url("/a"), transitions=["acknowledged"])],
        base_url=BASE,
    )
    done = alert(
        21, "r5", state="resolved", resolved_at=T0 + dt.timedelta(minutes=9), resolved_by="auto", note="power back"
    )
    acked = alert(22, "r6", "major", state="acknowledged", acknowledged_at=T0, acknowledged_by="alice")
    escalated = alert(23, "r7", "major", escalated_at=T0)
    result = asyncio.run(
        notifier.send(
            [
                Notice(alert=done, transition="resolved"),
                Notice(alert=acked, transition="acknowledged"),
                Notice(alert=escalated, transition="escalated"),
            ]
        )
    )
    assert result.failed == [] and result.unrouted == 0
    assert hooks.titles("/d") == ["[RESOLVED] r5 down", "[MAJOR escalated] r7 down"]
    assert hooks.titles("/a") == ["[MAJOR acknowledged] r6 down"]
    resolved_post = next(p for path, p in hooks.posts if p["title"].startswith("[RESOLVED]"))
    assert resolved_post["type"] == "success"
    assert "Alert #21 resolved: r5 down" in resolved_post["message"]
    assert "Resolved by auto at 2026-11-23 10:09:00 UTC" in resolved_post["message"]
    assert "Note: power back" in resolved_post["message"]
    acked_post = next(p for path, p in hooks.posts if path == "/a")
    assert "Acknowledged by alice" in acked_post["message"]


def test_dead_url_is_recorded_and_the_others_still_deliver(smtp: Mailbox, hooks: Hooks) -> None:
    dead = free_port()  # nothing listens there
    notifier = Notifier(
        [
            route("mixed", f"json://127.0.0.1:{dead}/hook", hooks.url("/mixed")),
            route("dead-mail", smtp.url().replace(f":{smtp.port}", f":{dead}")),
            route("mail", smtp.url()),
        ],
        base_url=BASE,
        timeout=10,
    )
    result = asyncio.run(notifier.send([opened(alert(31, "r9"))]))
    assert sorted((f.route, f.url.split(":")[0]) for f in result.failed) == [("dead-mail", "mailto"), ("mixed", "json")]
    for failure in result.failed:
        assert failure.reason and "pa/ss" not in failure.reason and "pa%2Fss" not in failure.reason
        assert failure.alerts == [31]
    assert "****" in next(f.url for f in result.failed if f.route == "dead-mail")
    assert sorted(d.route for d in result.sent) == ["mail", "mixed"]
    assert hooks.titles("/mixed") == ["[CRITICAL] r9 down"]
    assert smtp.subjects() == ["[CRITICAL] r9 down"]
    stats = {s.route: s for s in notifier.stats()}
    assert (stats["mixed"].messages_failed, stats["mail"].messages_sent) == (1, 1)


def test_silent_receiver_is_cut_at_the_timeout(hooks: Hooks) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        notifier = Notifier(
            [route("silent", f"json://127.0.0.1:{port}/hook"), route("ok", hooks.url())], base_url=BASE, timeout=1
        )
        result = asyncio.run(notifier.send([opened(alert(41, "r1"))]))
    [failure] = result.failed
    assert failure.route == "silent" and failure.reason
    assert [d.route for d in result.sent] == ["ok"]


def test_suppressed_alerts_are_not_sent(hooks: Hooks) -> None:
    notifier = Notifier([route("all", hooks.url())], base_url=BASE)
    result = asyncio.run(notifier.send([opened(alert(51, "r1", suppressed=True, suppressed_reason="maintenance"))]))
    assert (result.skipped, result.sent, hooks.posts) == (1, [], [])


def test_credential_placeholder_uses_the_stored_secret(sqlite_ctx: Context, smtp: Mailbox) -> None:
    with sqlite_ctx.db() as db:
        add_credential(
            db,
            SYSTEM,
            sqlite_ctx.vault,
            CredentialIn(name="smtp-relay", kind="ssh", username=SMTP_USER, secret=SecretStr(SMTP_PASSWORD)),
        )
    url = f"mailto://{SMTP_USER}:{{credential:smtp-relay}}@127.0.0.1:{smtp.port}?from=nw@example.net&to=noc@example.net"
    missing = url.replace("smtp-relay", "nope")
    [ok_route, missing_route] = parse_routes(
        [{"name": "vaulted", "urls": [url]}, {"name": "missing", "urls": [missing]}]
    )
    notifier = Notifier([ok_route, missing_route], base_url=BASE, resolve_credential=store_credentials(sqlite_ctx))
    result = asyncio.run(notifier.send([opened(alert(61, "r2"))]))
    assert smtp.logins == [(SMTP_USER, SMTP_PASSWORD)]
    assert [d.route for d in result.sent] == ["vaulted"]
    [failure] = result.failed
    assert failure.route == "missing" and "'nope'" in failure.reason
    assert "pa/ss" not in result.model_dump_json()

    # Without a resolver the placeholder cannot be filled: recorded, not raised.
    bare = asyncio.run(Notifier([ok_route], base_url=BASE).send([opened(alert(62, "r3"))]))
    assert bare.sent == [] and "credential store" in bare.failed[0].reason


def test_load_routes_names_the_bad_route() -> None:
    good = {"name": "noc", "urls": ["json://127.0.0.1:9/hook"], "min_severity": "major", "digest_minutes": 10}
    assert [r.name for r in load_routes(Settings(notify_routes=[good]))] == ["noc"]
    cases = [
        ({"name": "pager", "urls": ["json://h/x"], "min_severity": "urgent"}, "'pager'): min_severity"),
        ({"name": "pager", "urls": ["json://h/x"], "colour": "red"}, "'pager'): colour"),
        ({"name": "pager", "urls": ["carrierpigeon://h/x"]}, "no service for carrierpigeon://"),
        ({"name": "pager", "urls": ["smtp.example.net"]}, "not an apprise URL"),
        ({"name": "pager", "urls": []}, "'pager'): urls"),
        ({"name": "pager", "urls": ["json://h/x"], "transitions": ["exploded"]}, "transitions"),
        ({"name": "pager", "urls": ["json://h/x"], "max_per_hour": -1}, "max_per_hour"),
        ({"urls": ["json://h/x"]}, "notify_routes[1]: name"),
    ]
    for bad, expected in cases:
        with pytest.raises(ConfigError) as err:
            load_routes(Settings(notify_routes=[good, bad]))
        assert expected in str(err.value), str(err.value)
        assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="already named 'noc'"):
        load_routes(Settings(notify_routes=[good, good]))
    with pytest.raises(ConfigError) as err:
        load_routes(Settings(notify_routes=[{"name": "m", "urls": ["mailto://u:hunter22@smtp.example.net:x"]}]))
    assert "hunter22" not in str(err.value)


def test_digest_loop_flushes_until_cancelled(hooks: Hooks) -> None:
    notifier = Notifier([route("digest", hooks.url(), digest_minutes=0.001)], base_url=BASE)

    async def scenario() -> int:
        await notifier.send([opened(alert(71, "r1")), opened(alert(72, "r2"))])
        task = asyncio.create_task(digest_loop(notifier, interval=0.05))
        deadline = time.monotonic() + 20
        while not hooks.posts and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return notifier.pending()

    assert asyncio.run(scenario()) == 0
    [(_, post)] = hooks.posts
    assert post["title"].startswith("[DIGEST] 2 alert(s) for digest")
