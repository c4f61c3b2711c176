"""Random request bodies and query strings never produce a 500 or a traceback."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import auth

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=12,
)
device_like = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=30),
        "site": st.sampled_from(["hq", "nowhere", ""]) | st.text(max_size=10),
        "platform": st.sampled_from(["frr", "cisco_ios", "bogus"]) | st.text(max_size=10),
        "mgmt_ip": st.sampled_from(["10.0.0.1", "::1", "300.1.1.1", "", "10.0.0.0/24"]) | st.text(max_size=20),
        "tags": st.lists(st.text(max_size=70), max_size=3) | json_values,
        "snmp_port": st.integers(-5, 70000) | json_values,
        "status": st.sampled_from(["active", "gone"]) | json_values,
    },
)

ENDPOINTS = ["/api/v1/devices", "/api/v1/sites", "/api/v1/devices/r1/interfaces", "/api/v1/users"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(ENDPOINTS), body=device_like | json_values)
def test_random_bodies(api: httpx.Client, tokens: dict[str, str], path: str, body: object) -> None:
    r = api.post(path, json=body, headers=auth(tokens["admin"]))
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json"
        assert "Traceback" not in r.text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["limit", "offset", "site", "q", "platform", "tag", "device"]), st.text(max_size=20), max_size=4
    ),
    path=st.sampled_from(["/api/v1/devices", "/api/v1/interfaces", "/api/v1/sites", "/api/v1/audit"]),
)
def test_random_queries(api: httpx.Client, tokens: dict[str, str], params: dict[str, str], path: str) -> None:
    r = api.get(path, params=params, headers=auth(tokens["admin"]))
    assert r.status_code < 500, r.text
