"""Alert notifications: routes of apprise URLs with filters, a rate limit and a digest mode.

A *route* (``notify_routes`` in netwarden.toml) names where messages go (apprise URLs: ``mailto://``,
``json://``, ``slack://`` ...) and which alert changes it wants (minimum severity, device/site/kind
globs, transitions). The alert engine hands :class:`Notice` records to :meth:`Notifier.send`:

* a route with ``digest_minutes = 0`` sends one message per notice at once;
* a digest route queues them, and :meth:`Notifier.flush` (run every 30 s by :func:`digest_loop`)
  sends one message listing the queued alerts once the oldest has waited ``digest_minutes``;
* ``max_per_hour`` caps the messages a route sends in any hour. Notices over the cap are held, never
  dropped: the route's next summary (sent by ``flush`` as soon as the hour lets it) lists them,
  and every count is in :class:`NotifyResult` and :meth:`Notifier.stats`.

Apprise is synchronous: each message runs in a worker thread with a timeout. A URL that fails is
recorded in :attr:`NotifyResult.failed` with a reason; nothing raises to the caller. URLs shown in
results and logs are apprise's privacy form (passwords and tokens masked). A URL may carry
``{credential:NAME}``, replaced at send time by the secret of the stored credential NAME, so
passwords need not sit in netwarden.toml.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fnmatch
import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from netwarden import log as nwlog
from netwarden.alerts.events import Severity
from netwarden.alerts.schemas import SEVERITIES, AlertOut
from netwarden.config import Settings
from netwarden.errors import ConfigError, NetwardenError

if TYPE_CHECKING:
    import apprise

    from netwarden.context import Context

log = nwlog.get(__name__)

Transition = Literal["opened", "acknowledged", "escalated", "resolved"]
TRANSITIONS: tuple[Transition, ...] = ("opened", "acknowledged", "escalated", "resolved")
DEFAULT_TRANSITIONS: tuple[Transition, ...] = ("opened", "escalated", "resolved")
MessageKind = Literal["alert", "digest", "summary"]

DIGEST_INTERVAL = 30.0  # seconds between two flushes in digest_loop
SEND_TIMEOUT = 20.0  # seconds one message to one URL may take
MAX_LISTED = 50  # alerts listed line by line in one digest or summary; the rest are counted
MAX_PENDING = 1000  # alerts kept per route for its next digest or summary; notices beyond are counted
MAX_IMPACT_LISTED = 30  # impacted devices named in one message
MAX_REASON = 300  # characters of a failure reason kept
HOUR = dt.timedelta(hours=1)

_CREDENTIAL = re.compile(r"\{credential:([A-Za-z0-9_.@-]+)\}")
NoticeType = Literal["info", "success", "warning", "failure"]  # apprise's notify types (icons, colours)
_NOTIFY_TYPE: dict[str, NoticeType] = {
    "critical": "failure",
    "major": "failure",
    "minor": "warning",
    "warning": "warning",
    "info": "info",
}

CredentialResolver = Callable[[str], str]


# apprise is imported where it is used: loading it takes a few tenths of a second CLI commands need not pay.


@cache
def _asset() -> apprise.AppriseAsset:
    import apprise

    return apprise.AppriseAsset(storage_mode="memory")  # apprise keeps nothing on disk


SiteOf = Callable[[str], "str | None"]


class Route(BaseModel):
    """Where notifications go and which alert changes they are for."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100)
    urls: list[str] = Field(min_length=1, description="apprise URLs; {credential:NAME} is replaced by a secret")
    min_severity: Severity = "info"
    devices: list[str] = Field(default_factory=list, description="globs over the alert's device (or link end)")
    sites: list[str] = Field(default_factory=list, description="globs over the device's site and impacted sites")
    kinds: list[str] = Field(default_factory=list, description="globs over the alert's kind, e.g. 'device_*'")
    transitions: list[Transition] = Field(default_factory=lambda: list(DEFAULT_TRANSITIONS), min_length=1)
    digest_minutes: float = Field(default=0, ge=0, le=1440, description="0 sends at once; else one digest per N")
    max_per_hour: int = Field(default=0, ge=0, description="messages per hour at most (0: no limit)")

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            problem = _url_problem(url)
            if problem:
                raise ValueError(f"URL {display_url(url)!r}: {problem}")
        return urls

    def wants(self, notice: Notice, sites: Iterable[str]) -> bool:
        """True when this route takes the notice; ``sites`` are the alert's device sites and impacted sites."""
        alert = notice.alert
        if notice.transition not in self.transitions:
            return False
        if SEVERITIES.index(alert.severity) < SEVERITIES.index(self.min_severity):
            return False
        if self.kinds and not _any_glob(self.kinds, [alert.kind]):
            return False
        if self.devices and not _any_glob(self.devices, device_names(alert.device)):
            return False
        return not self.sites or _any_glob(self.sites, sites)


class Notice(BaseModel):
    """One change of one alert that notifications may announce."""

    alert: AlertOut
    transition: Transition


class Delivery(BaseModel):
    route: str
    url: str = Field(description="the URL with passwords and tokens masked")
    kind: MessageKind
    alerts: list[int]


class Failure(Delivery):
    reason: str


class NotifyResult(BaseModel):
    """What one send or flush did; counts are of notices (one alert change each)."""

    sent: list[Delivery] = Field(default_factory=list, description="messages delivered, one per URL")
    failed: list[Failure] = Field(default_factory=list, description="messages a URL did not take, with why")
    queued: int = Field(default=0, description="notices added to a digest route's queue")
    held: int = Field(default=0, description="notices over a route's max_per_hour, kept for its next summary")
    unrouted: int = Field(default=0, description="notices no route wanted")
    skipped: int = Field(default=0, description="notices about suppressed alerts (maintenance), not sent")

    def merge(self, other: NotifyResult) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.queued += other.queued
        self.held += other.held
        self.unrouted += other.unrouted
        self.skipped += other.skipped


class RouteStats(BaseModel):
    route: str
    messages_sent: int = Field(description="messages delivered to every URL of the route")
    messages_failed: int = Field(description="messages at least one URL of the route did not take")
    notices_held: int = Field(description="notices ever held back by the rate limit")
    pending_alerts: int = Field(description="alerts waiting for the next digest or summary")
    pending_notices: int = Field(description="notices waiting, including those beyond the listing cap")


# --- configuration --------------------------------------------------------------------------------------------


def parse_routes(raw: Sequence[dict[str, Any]]) -> list[Route]:
    """Routes from their TOML tables; ConfigError (one line) names the bad route and field."""
    routes: list[Route] = []
    seen: set[str] = set()
    for i, table in enumerate(raw):
        label = f"notify_routes[{i}]"
        if isinstance(table, dict) and isinstance(table.get("name"), str):
            label += f" ({table['name']!r})"
        try:
            route = Route.model_validate(table)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            hint = f"; known fields: {', '.join(Route.model_fields)}" if err["type"] == "extra_forbidden" else ""
            raise ConfigError(f"{label}: {where or 'route'}: {msg}{hint}") from exc
        if route.name in seen:
            raise ConfigError(f"{label}: another route is already named {route.name!r}; give each route its own name")
        seen.add(route.name)
        routes.append(route)
    return routes


def load_routes(settings: Settings) -> list[Route]:
    """The notification routes of ``settings.notify_routes``."""
    return parse_routes(settings.notify_routes)


def _url_problem(url: str) -> str | None:
    if "://" not in url:
        return "not an apprise URL (scheme://...), e.g. mailto://user:pass@smtp.example.net or json://host/path"
    scheme = url.split("://", 1)[0].lower()
    from apprise import Apprise
    from apprise.manager_plugins import NotificationManager

    if scheme not in NotificationManager():  # type: ignore[no-untyped-call]
        return f"apprise has no service for {scheme}://"
    if _CREDENTIAL.search(url):
        return None  # checked at send time, once the secret is known
    if Apprise.instantiate(url, asset=_asset()) is None:
        return "apprise cannot parse it; check its fields against apprise's page for that service"
    return None


def display_url(url: str) -> str:
    """The URL with its secrets masked (apprise's privacy form, without query defaults)."""
    probe = _CREDENTIAL.sub("credential", url)
    try:
        from apprise import Apprise

        plugin = Apprise.instantiate(probe, asset=_asset())
    except Exception:  # apprise plugins raise what they like on odd input
        plugin = None
    if plugin is not None:
        shown = str(plugin.url(privacy=True)).split("?", 1)[0]  # type: ignore[no-untyped-call]
        return shown.rstrip("/")
    if "://" not in url:
        return "(not a URL)"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"{url.split('://', 1)[0]}://****"
    return f"{parts.scheme}://{host}{port}/****" if parts.path or parts.query else f"{parts.scheme}://{host}{port}"


def store_credentials(ctx: Context) -> CredentialResolver:
    """A resolver for ``{credential:NAME}`` reading stored credentials (any kind: its secret is used)."""
    from netwarden.access.schemas import SYSTEM
    from netwarden.inventory.credentials import reveal_credential

    def resolve(name: str) -> str:
        with ctx.db() as db:
            return reveal_credential(db, SYSTEM, ctx.vault, name).secret.get_secret_value()

    return resolve


# --- matching and messages ------------------------------------------------------------------------------------


def device_names(device: str) -> list[str]:
    """The device itself, or for a link 'A--B' the link and both ends."""
    return [device, *device.split("--")] if "--" in device else [device]


def _any_glob(globs: Sequence[str], names: Iterable[str]) -> bool:
    lowered = [n.lower() for n in names if n]
    return any(fnmatch.fnmatchcase(n, g.lower()) for g in globs for n in lowered)


def title(notice: Notice) -> str:
    alert = notice.alert
    sev = alert.severity.upper()
    if notice.transition == "resolved":
        return f"[RESOLVED] {alert.summary}"
    if notice.transition == "opened":
        return f"[{sev}] {alert.summary}"
    return f"[{sev} {notice.transition}] {alert.summary}"


def _names(items: Sequence[str], cap: int) -> str:
    shown = ", ".join(items[:cap])
    return shown + (f" and {len(items) - cap} more" if len(items) > cap else "")


def _when(t: dt.datetime | None) -> str:
    if t is None:
        return "-"
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def body(notice: Notice, base_url: str) -> str:
    a = notice.alert
    lines = [
        f"Alert #{a.id} {notice.transition}: {a.summary}",
        f"Severity: {a.severity}    State: {a.state}    Kind: {a.kind}",
        f"Device: {a.device}" + (f"    Subject: {a.subject}" if a.subject != a.device else ""),
    ]
    if a.root_cause and a.root_cause != a.device:
        lines.append(f"Root cause: {a.root_cause}" + (f" (alert #{a.parent_id})" if a.parent_id else ""))
    elif a.root_cause:
        lines.append(f"Root cause: {a.root_cause} itself")
    if a.impact:
        lines.append(f"Impact: {len(a.impact)} device(s): {_names(a.impact, MAX_IMPACT_LISTED)}")
    if a.impact_sites:
        lines.append(f"Impacted sites: {_names(a.impact_sites, MAX_IMPACT_LISTED)}")
    if a.metric:
        lines.append(f"Metric: {a.metric} = {a.value}")
    lines.append(f"First seen: {_when(a.first_seen)}    Last seen: {_when(a.last_seen)}    Events: {a.count}")
    if a.flapping:
        lines.append("Flapping: yes")
    if a.acknowledged_at:
        lines.append(f"Acknowledged by {a.acknowledged_by or '-'} at {_when(a.acknowledged_at)}")
    if a.resolved_at:
        lines.append(f"Resolved by {a.resolved_by or '-'} at {_when(a.resolved_at)}")
    if a.note:
        lines.append(f"Note: {a.note}")
    lines.append(f"Details: {base_url}/alerts/{a.id}")
    return "\n".join(lines)


@dataclass
class _Entry:
    alert: AlertOut
    transitions: list[Transition]


@dataclass
class _RouteState:
    route: Route
    displays: dict[str, str]
    pending: dict[int, _Entry] = field(default_factory=dict)  # by alert id, in arrival order
    pending_since: dt.datetime | None = None
    pending_notices: int = 0
    overflow: int = 0  # notices about alerts beyond MAX_PENDING: only counted
    sent_at: deque[dt.datetime] = field(default_factory=deque)
    messages_sent: int = 0
    messages_failed: int = 0
    notices_held: int = 0
    order: asyncio.Lock = field(default_factory=asyncio.Lock)  # one message at a time per route, in call order

    def slot_free(self, now: dt.datetime) -> bool:
        if self.route.max_per_hour == 0:
            return True
        while self.sent_at and self.sent_at[0] <= now - HOUR:
            self.sent_at.popleft()
        return len(self.sent_at) < self.route.max_per_hour

    def take_slot(self, now: dt.datetime) -> None:
        if self.route.max_per_hour:
            self.sent_at.append(now)

    def hold(self, notice: Notice, now: dt.datetime) -> None:
        if self.pending_since is None:
            self.pending_since = now
        self.pending_notices += 1
        entry = self.pending.get(notice.alert.id)
        if entry is not None:
            entry.alert = notice.alert
            entry.transitions.append(notice.transition)
        elif len(self.pending) < MAX_PENDING:
            self.pending[notice.alert.id] = _Entry(notice.alert, [notice.transition])
        else:
            self.overflow += 1

    def due(self, now: dt.datetime, force: bool) -> bool:
        if not self.pending_notices or not self.slot_free(now):
            return False
        if self.route.digest_minutes == 0 or force:
            return True
        assert self.pending_since is not None
        return now >= self.pending_since + dt.timedelta(minutes=self.route.digest_minutes)


def _digest(state: _RouteState, kind: MessageKind, base_url: str) -> tuple[str, str, NoticeType]:
    """Title, body and apprise type of the message listing a route's pending alerts."""
    entries = list(state.pending.values())
    route = state.route
    worst = max((SEVERITIES.index(e.alert.severity) for e in entries if e.alert.state != "resolved"), default=-1)
    by_sev: dict[str, int] = {}
    for e in entries:
        by_sev[e.alert.severity] = by_sev.get(e.alert.severity, 0) + 1
    counts = ", ".join(f"{by_sev[s]} {s}" for s in reversed(SEVERITIES) if s in by_sev)
    n = len(entries) + state.overflow
    if kind == "digest":
        head = f"[DIGEST] {n} alert(s) for {route.name}: {counts}"
        intro = f"Alert changes since {_when(state.pending_since)} ({state.pending_notices} notice(s)):"
    else:
        head = f"[SUMMARY] {n} alert(s) held by the rate limit of {route.name}: {counts}"
        intro = (
            f"{state.pending_notices} notice(s) since {_when(state.pending_since)} went over this route's limit "
            f"of {route.max_per_hour} message(s) per hour:"
        )
    lines = [intro, ""]
    for e in entries[:MAX_LISTED]:
        a = e.alert
        extra = f" (impact: {len(a.impact)} device(s))" if a.impact else ""
        lines.append(
            f"#{a.id} [{a.severity.upper()}] {a.summary} - {', '.join(e.transitions)}; now {a.state}{extra}"
            f" - {base_url}/alerts/{a.id}"
        )
    unlisted = max(0, len(entries) - MAX_LISTED) + state.overflow
    if unlisted:
        lines.append(f"... and {unlisted} more not listed; see {base_url}/alerts")
    ntype: NoticeType = _NOTIFY_TYPE[SEVERITIES[worst]] if worst >= 0 else "success"
    return head, "\n".join(lines), ntype


# --- sending ----------------------------------------------------------------------------------------------------


class Notifier:
    """Routes notices to apprise URLs; rate-limit and digest state live in memory."""

    def __init__(
        self,
        routes: Sequence[Route],
        *,
        base_url: str = "http://127.0.0.1:8080",
        site_of: SiteOf | None = None,
        resolve_credential: CredentialResolver | None = None,
        timeout: float = SEND_TIMEOUT,
        concurrency: int = 4,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._site_of = site_of
        self._resolve = resolve_credential
        self._limit = asyncio.Semaphore(concurrency)
        self._states = [_RouteState(r, {u: display_url(u) for u in r.urls}) for r in routes]

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        site_of: SiteOf | None = None,
        resolve_credential: CredentialResolver | None = None,
    ) -> Notifier:
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        if ":" in host:
            host = f"[{host}]"
        return cls(
            load_routes(settings),
            base_url=f"http://{host}:{settings.port}",
            site_of=site_of,
            resolve_credential=resolve_credential,
        )

    @property
    def routes(self) -> list[Route]:
        return [s.route for s in self._states]

    def stats(self) -> list[RouteStats]:
        return [
            RouteStats(
                route=s.route.name,
                messages_sent=s.messages_sent,
                messages_failed=s.messages_failed,
                notices_held=s.notices_held,
                pending_alerts=len(s.pending),
                pending_notices=s.pending_notices,
            )
            for s in self._states
        ]

    def _sites(self, alert: AlertOut) -> set[str]:
        sites = set(alert.impact_sites)
        if self._site_of is not None:
            for name in device_names(alert.device):
                try:
                    site = self._site_of(name)
                except Exception as exc:  # a lookup that fails must not stop notifications
                    nwlog.event(log, "site lookup failed", logging.WARNING, device=name, error=str(exc)[:200])
                    site = None
                if site:
                    sites.add(site)
        return sites

    async def send(self, notices: Sequence[Notice], now: dt.datetime | None = None) -> NotifyResult:
        """Announce ``notices``: at-once routes send now, digest and rate-limited routes keep them."""
        now = _aware(now)
        result = NotifyResult()
        jobs: dict[int, list[Notice]] = {}
        needs_sites = any(s.route.sites for s in self._states)
        # Decide everything before the first await: queue and rate-limit state change with no other task between.
        for notice in notices:
            if notice.alert.suppressed:
                result.skipped += 1
                continue
            sites = self._sites(notice.alert) if needs_sites else set()
            wanted = [i for i, s in enumerate(self._states) if s.route.wants(notice, sites)]
            if not wanted:
                result.unrouted += 1
            for i in wanted:
                state = self._states[i]
                if state.route.digest_minutes:
                    state.hold(notice, now)
                    result.queued += 1
                elif state.pending_notices or not state.slot_free(now):
                    # Over the limit, or a summary is already waiting: keep arrival order, send it later.
                    state.hold(notice, now)
                    state.notices_held += 1
                    result.held += 1
                else:
                    state.take_slot(now)
                    jobs.setdefault(i, []).append(notice)
        outcomes = await asyncio.gather(*(self._send_route(self._states[i], ns) for i, ns in jobs.items()))
        for outcome in outcomes:
            result.merge(outcome)
        return result

    async def _send_route(self, state: _RouteState, notices: list[Notice]) -> NotifyResult:
        result = NotifyResult()
        for notice in notices:  # one route's messages go out in order (opened before resolved)
            resolved = notice.transition == "resolved"
            ntype: NoticeType = "success" if resolved else _NOTIFY_TYPE[notice.alert.severity]
            text = body(notice, self.base_url)
            result.merge(await self._message(state, "alert", [notice.alert.id], title(notice), text, ntype))
        return result

    async def flush(self, now: dt.datetime | None = None, force: bool = False) -> NotifyResult:
        """Send every digest that is due and every summary the rate limit now allows.

        ``force`` sends digests before their time (still within the rate limit), e.g. at shutdown.
        """
        now = _aware(now)
        result = NotifyResult()
        messages = []
        for state in self._states:
            if not state.due(now, force):
                continue
            kind: MessageKind = "digest" if state.route.digest_minutes else "summary"
            head, text, ntype = _digest(state, kind, self.base_url)
            ids = list(state.pending)
            state.pending, state.pending_since, state.pending_notices, state.overflow = {}, None, 0, 0
            state.take_slot(now)
            messages.append(self._message(state, kind, ids, head, text, ntype))
        for outcome in await asyncio.gather(*messages):
            result.merge(outcome)
        return result

    def pending(self) -> int:
        """Notices waiting in digests and summaries (what a stop now would not send)."""
        return sum(s.pending_notices for s in self._states)

    async def _message(
        self, state: _RouteState, kind: MessageKind, ids: list[int], head: str, text: str, ntype: NoticeType
    ) -> NotifyResult:
        """One message to every URL of a route."""
        urls = state.route.urls
        async with state.order:
            outcomes = await asyncio.gather(*(self._deliver(u, head, text, ntype) for u in urls))
        result = NotifyResult()
        for url, reason in zip(urls, outcomes, strict=True):
            shown = state.displays[url]
            if reason is None:
                result.sent.append(Delivery(route=state.route.name, url=shown, kind=kind, alerts=ids))
                nwlog.event(log, "notification sent", route=state.route.name, url=shown, kind=kind, alerts=len(ids))
            else:
                result.failed.append(Failure(route=state.route.name, url=shown, kind=kind, alerts=ids, reason=reason))
                nwlog.event(
                    log, "notification failed", logging.WARNING, route=state.route.name, url=shown, reason=reason
                )
        if result.failed:
            state.messages_failed += 1
        else:
            state.messages_sent += 1
        return result

    async def _deliver(self, url: str, head: str, text: str, ntype: NoticeType) -> str | None:
        """None when the URL took the message, else why not (secrets removed)."""
        secrets = _url_secrets(url)
        try:
            real = self._fill(url, secrets)
        except NetwardenError as exc:
            return _scrub(str(exc), secrets)
        async with self._limit:
            try:
                return await asyncio.wait_for(
                    asyncio.to_thread(_apprise_send, real, head, text, ntype, self.timeout, secrets),
                    self.timeout + 5,
                )
            except TimeoutError:
                return f"no answer within {self.timeout:g} s"
            except Exception as exc:  # a plugin bug must not reach the alert engine
                return _scrub(f"{type(exc).__name__}: {exc}", secrets)

    def _fill(self, url: str, secrets: list[str]) -> str:
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if self._resolve is None:
                raise ConfigError(
                    f"{{credential:{name}}} needs the credential store, which this notifier was not given"
                )
            try:
                secret = self._resolve(name)
            except NetwardenError as exc:
                raise ConfigError(f"credential {name!r} for this URL: {exc}") from exc
            secrets.extend([secret, quote(secret, safe="")])
            return quote(secret, safe="")

        return _CREDENTIAL.sub(sub, url)


def _apprise_send(url: str, head: str, text: str, ntype: NoticeType, timeout: float, secrets: list[str]) -> str | None:
    """Blocking: one message to one URL through apprise. None on success, else the reason."""
    from apprise import Apprise

    ap = Apprise(asset=_asset())
    if not ap.add(url):
        return "apprise cannot parse this URL; check its fields against apprise's page for that service"
    res = ap.notify(body=text, title=head, notify_type=ntype, body_format="text", timeout=timeout)
    if res:
        return None
    said = [e.message for e in res.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")]
    reason = "; ".join(dict.fromkeys(said)) or f"apprise reports {res.status.name.lower()}"
    return _scrub(reason, secrets)


def _url_secrets(url: str) -> list[str]:
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted({s for s in secrets if len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, "****")
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def _aware(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)


async def digest_loop(notifier: Notifier, interval: float = DIGEST_INTERVAL) -> None:
    """Flush due digests and summaries every ``interval`` seconds until cancelled."""
    try:
        while True:
            await asyncio.sleep(interval)
            try:
                await notifier.flush()
            except Exception as exc:  # flush does not raise; this keeps the loop alive if it ever does
                nwlog.event(log, "notification flush failed", logging.ERROR, error=str(exc)[:200])
    except asyncio.CancelledError:
        left = notifier.pending()
        if left:
            nwlog.event(log, "notifications still pending at stop", logging.WARNING, notices=left)
        raise
