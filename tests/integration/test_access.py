"""API tokens, roles and the audit log, through the service and the HTTP API."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import select

from netwarden.access import audit
from netwarden.access import service as access
from netwarden.access.models import ApiToken
from netwarden.access.schemas import Role, UserIn
from netwarden.context import Context
from netwarden.errors import AuthenticationFailed, PermissionDenied
from tests.conftest import ADMIN, OPERATOR, VIEWER, auth


def test_token_is_hashed_and_shown_once(ctx: Context) -> None:
    with ctx.db() as db:
        created = access.create_user(db, ADMIN, UserIn(name="alice", role=Role.viewer))
        row = db.scalar(select(ApiToken).where(ApiToken.key == created.token.split("_")[1]))
        assert row is not None
        assert created.token not in row.hash and row.hash.startswith("$argon2")
        assert access.authenticate(db, created.token).name == "alice"


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: "nw_000000000000_x", lambda t: "garbage"]
)
def test_wrong_tokens_are_refused(ctx: Context, mangle: object) -> None:
    with ctx.db() as db:
        token = access.create_user(db, ADMIN, UserIn(name="alice", role=Role.viewer)).token
        with pytest.raises(AuthenticationFailed):
            access.authenticate(db, mangle(token))  # type: ignore[operator]


def test_revoked_and_expired_tokens(ctx: Context) -> None:
    with ctx.db() as db:
        token = access.create_user(db, ADMIN, UserIn(name="alice", role=Role.viewer, token_ttl_days=1)).token
        access.authenticate(db, token)
        row = db.scalar(select(ApiToken).where(ApiToken.key == token.split("_")[1]))
        assert row is not None
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        db.flush()
        with pytest.raises(AuthenticationFailed, match="expired"):
            access.authenticate(db, token)
        second = access.new_token(db, ADMIN, "alice").token
        access.authenticate(db, second)
        access.revoke(db, ADMIN, "alice")
        with pytest.raises(AuthenticationFailed, match="revoked"):
            access.authenticate(db, second)


def test_only_admins_manage_users(ctx: Context) -> None:
    with ctx.db() as db:
        for actor in (OPERATOR, VIEWER):
            with pytest.raises(PermissionDenied, match="needs role admin"):
                access.create_user(db, actor, UserIn(name="mallory", role=Role.admin))
            with pytest.raises(PermissionDenied):
                audit.list_entries(db, actor)


def test_password_login(ctx: Context) -> None:
    with ctx.db() as db:
        access.create_user(db, ADMIN, UserIn(name="alice", role=Role.operator))
        access.set_password(db, ADMIN, "alice", "correct horse battery")
        assert access.check_password(db, "alice", "correct horse battery").role is Role.operator
        for name, pw in (("alice", "wrong password"), ("nobody", "correct horse battery")):
            with pytest.raises(AuthenticationFailed, match="wrong user name or password"):
                access.check_password(db, name, pw)
        audit_rows, _ = audit.list_entries(db, ADMIN, obj="alice")
        assert "correct horse" not in str([r.model_dump() for r in audit_rows])


# ---------------------------------------------------------------- the RBAC matrix over HTTP

# (kind of call, method, path, body, least role that may do it)
CALLS: list[tuple[str, str, str, dict[str, object] | None, str]] = [
    ("read sites", "GET", "/api/v1/sites", None, "viewer"),
    ("read devices", "GET", "/api/v1/devices", None, "viewer"),
    ("read one device", "GET", "/api/v1/devices/r1", None, "viewer"),
    ("read interfaces", "GET", "/api/v1/interfaces", None, "viewer"),
    ("list users", "GET", "/api/v1/users", None, "viewer"),
    ("create site", "POST", "/api/v1/sites", {"name": "new-site"}, "admin"),
    ("create device", "POST", "/api/v1/devices", {"name": "r9", "site": "hq", "platform": "frr"}, "admin"),
    ("change device", "PATCH", "/api/v1/devices/r1", {"role": "core"}, "admin"),
    ("add interface", "POST", "/api/v1/devices/r1/interfaces", {"name": "eth9"}, "admin"),
    ("delete device", "DELETE", "/api/v1/devices/r1", None, "admin"),
    ("create user", "POST", "/api/v1/users", {"name": "eve", "role": "viewer"}, "admin"),
    ("read audit log", "GET", "/api/v1/audit", None, "admin"),
    ("read prefixes", "GET", "/api/v1/prefixes", None, "viewer"),
    ("read topology", "GET", "/api/v1/topology", None, "viewer"),
    ("read discovery runs", "GET", "/api/v1/discover/runs", None, "viewer"),
    ("start discovery", "POST", "/api/v1/discover", {"cidrs": ["127.0.0.1/32"], "timeout": 0.2}, "operator"),
    ("read topology svg", "GET", "/api/v1/topology?format=svg", None, "viewer"),
    ("read spof", "GET", "/api/v1/topology/spof", None, "viewer"),
    ("compute path", "GET", "/api/v1/topology/path?src=r1&dst=10.0.0.1", None, "viewer"),
    ("read one prefix", "GET", "/api/v1/prefixes/10.0.0.0/16", None, "viewer"),
    ("next free IP", "GET", "/api/v1/prefixes/10.0.0.0/16/next-ip", None, "viewer"),
    ("read IP addresses", "GET", "/api/v1/ip-addresses", None, "viewer"),
    ("read VLANs", "GET", "/api/v1/vlans", None, "viewer"),
    ("read links", "GET", "/api/v1/links", None, "viewer"),
    ("read credentials", "GET", "/api/v1/credentials", None, "viewer"),
    ("create prefix", "POST", "/api/v1/prefixes", {"cidr": "10.0.9.0/24", "site": "hq"}, "admin"),
    ("change prefix", "PATCH", "/api/v1/prefixes/10.0.0.0/16", {"description": "hq"}, "admin"),
    ("delete prefix", "DELETE", "/api/v1/prefixes/10.0.0.0/16", None, "admin"),
    ("record IP", "POST", "/api/v1/ip-addresses", {"address": "10.0.0.9/16"}, "admin"),
    ("create VLAN", "POST", "/api/v1/vlans", {"vid": 20, "name": "voice", "site": "hq"}, "admin"),
    ("delete VLAN", "DELETE", "/api/v1/vlans/10?site=hq", None, "admin"),
    ("create link", "POST", "/api/v1/links", {"a": "r1", "a_port": "eth2", "b": "r1", "b_port": "eth3"}, "admin"),
    ("delete link", "DELETE", "/api/v1/links/r1/eth0", None, "admin"),
    (
        "create credential",
        "POST",
        "/api/v1/credentials",
        {"name": "c2", "kind": "snmp-v2c", "secret": "s3cr3t"},
        "admin",
    ),
    ("delete credential", "DELETE", "/api/v1/credentials/snmp", None, "admin"),
]
RANK = {"viewer": 0, "operator": 1, "admin": 2}


@pytest.fixture
def seeded(ctx: Context, tokens: dict[str, str]) -> dict[str, str]:
    from netwarden.inventory import service
    from netwarden.inventory.schemas import CredentialIn, DeviceIn, InterfaceIn, LinkIn, PrefixIn, SiteIn, VlanIn

    with ctx.db() as db:
        service.add_site(db, ADMIN, SiteIn(name="hq"))
        service.add_device(db, ADMIN, DeviceIn(name="r1", site="hq", platform="frr", mgmt_ip="198.18.0.11"))
        service.add_device(db, ADMIN, DeviceIn(name="r2", site="hq", platform="frr"))
        for dev, port in (("r1", "eth0"), ("r2", "eth0"), ("r1", "eth2"), ("r1", "eth3")):
            service.add_interface(db, ADMIN, dev, InterfaceIn(name=port))
        service.add_link(db, ADMIN, LinkIn(a="r1", a_port="eth0", b="r2", b_port="eth0"))
        service.add_prefix(db, ADMIN, PrefixIn(cidr="10.0.0.0/16", site="hq"))
        service.add_vlan(db, ADMIN, VlanIn(vid=10, name="users", site="hq"))
        service.add_credential(
            db,
            ADMIN,
            ctx.vault,
            CredentialIn(name="snmp", kind="snmp-v2c", secret="community-1"),  # type: ignore[arg-type]
        )
    return tokens


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
@pytest.mark.parametrize(("kind", "method", "path", "body", "least"), CALLS, ids=[c[0] for c in CALLS])
def test_rbac_matrix(
    api: httpx.Client,
    seeded: dict[str, str],
    role: str,
    kind: str,
    method: str,
    path: str,
    body: dict[str, object] | None,
    least: str,
) -> None:
    before = api.get("/api/v1/audit", headers=auth(seeded["admin"])).json()["total"]
    r = api.request(method, path, json=body, headers=auth(seeded[role]))
    allowed = RANK[role] >= RANK[least]
    if allowed:
        assert r.status_code < 300, r.text
    else:
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
        assert f"needs role {least}" in r.json()["detail"]
    after = api.get("/api/v1/audit", headers=auth(seeded["admin"])).json()["total"]
    if method == "GET" or not allowed:
        assert after == before, "a refused or read-only call must not write"
    else:
        assert after > before, "every write leaves an audit entry"


def test_unauthenticated_and_bad_tokens_get_401(api: httpx.Client, seeded: dict[str, str]) -> None:
    for headers in ({}, auth("nw_abc_def"), auth(seeded["viewer"] + "x"), {"Authorization": "Basic Zm9vOmJhcg=="}):
        r = api.get("/api/v1/devices", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 401


def test_audit_entry_records_who_what_where(api: httpx.Client, seeded: dict[str, str]) -> None:
    r = api.patch("/api/v1/devices/r1", json={"role": "core"}, headers=auth(seeded["admin"]))
    assert r.status_code == 200
    entries = api.get("/api/v1/audit", params={"object": "r1"}, headers=auth(seeded["admin"])).json()["items"]
    latest = entries[0]
    assert latest["action"] == "device.update"
    assert latest["actor"] == "admin" and latest["role"] == "admin"
    assert latest["address"] == "testclient"
    assert latest["changes"] == {"role": ["", "core"]}


def test_problem_json_for_validation_and_conflict(api: httpx.Client, seeded: dict[str, str]) -> None:
    h = auth(seeded["admin"])
    r = api.post("/api/v1/devices", json={"name": "r1", "site": "hq", "platform": "frr"}, headers=h)
    assert r.status_code == 409 and r.json()["detail"] == "device 'r1' already exists"
    r = api.post("/api/v1/devices", json={"name": "r3", "site": "hq", "platform": "nope"}, headers=h)
    assert r.status_code == 422 and "unknown platform" in r.json()["detail"]
    r = api.post("/api/v1/devices", json={"name": "r3", "site": "hq", "platform": "frr", "bogus": 1}, headers=h)
    assert r.status_code == 422
    r = api.post("/api/v1/devices", content=b"\xff\x00{", headers={**h, "content-type": "application/json"})
    assert r.status_code in (400, 422) and r.headers["content-type"] == "application/problem+json"
    r = api.get("/api/v1/devices/ghost", headers=h)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_healthz_and_metrics(api: httpx.Client, seeded: dict[str, str]) -> None:
    assert api.get("/healthz").json()["status"] == "ok"
    api.get("/api/v1/devices", headers=auth(seeded["viewer"]))
    text = api.get("/metrics").text
    assert 'netwarden_inventory_objects{kind="device"} 2.0' in text
    assert 'netwarden_http_requests_total{method="GET",route="/api/v1/devices",status="200"}' in text
