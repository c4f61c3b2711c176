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

ENDPOINTS = [
    "/api/v1/devices",
    "/api/v1/sites",
    "/api/v1/devices/r1/interfaces",
    "/api/v1/users",
    "/api/v1/prefixes",
    "/api/v1/ip-addresses",
    "/api/v1/vlans",
    "/api/v1/links",
    "/api/v1/credentials",
]
ipam_like = st.fixed_dictionaries(
    {},
    optional={
        "cidr": st.sampled_from(["10.0.0.0/8", "10.0.0.1/8", "::/0", "2001:db8::/129", "x"]) | st.text(max_size=20),
        "address": st.sampled_from(["10.0.0.1/24", "10.0.0.0/24", "fe80::1/64", "1.2.3.4"]) | st.text(max_size=20),
        "vid": st.integers(-2, 5000) | json_values,
        "name": st.text(max_size=20),
        "site": st.sampled_from(["hq", None]) | json_values,
        "vlan": st.integers(-2, 5000) | json_values,
        "a": st.text(max_size=5),
        "a_port": st.text(max_size=5),
        "b": st.text(max_size=5),
        "b_port": st.text(max_size=5),
        "kind": st.sampled_from(["ssh", "snmp-v2c", "snmp-v3", "physical"]) | json_values,
        "secret": st.text(max_size=20) | json_values,
        "params": json_values,
    },
)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(ENDPOINTS), body=device_like | ipam_like | json_values)
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
        st.sampled_from(
            ["limit", "offset", "site", "q", "platform", "tag", "device", "family", "within", "prefix", "kind"]
        ),
        st.text(max_size=20),
        max_size=4,
    ),
    path=st.sampled_from(
        [
            "/api/v1/devices",
            "/api/v1/interfaces",
            "/api/v1/sites",
            "/api/v1/audit",
            "/api/v1/prefixes",
            "/api/v1/ip-addresses",
            "/api/v1/vlans",
            "/api/v1/links",
            "/api/v1/credentials",
            "/api/v1/prefixes/10.0.0.0/8/next-ip",
        ]
    ),
)
def test_random_queries(api: httpx.Client, tokens: dict[str, str], params: dict[str, str], path: str) -> None:
    r = api.get(path, params=params, headers=auth(tokens["admin"]))
    assert r.status_code < 500, r.text


# ---------------------------------------------------------------- import documents

SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=25)
doc_like = st.fixed_dictionaries(
    {},
    optional={
        "version": SCALARS,
        "sites": st.lists(st.fixed_dictionaries({"name": st.sampled_from(["hq", "b", ""]) | SCALARS}), max_size=3)
        | json_values,
        "devices": st.lists(
            st.fixed_dictionaries(
                {"name": st.text(max_size=8), "site": st.sampled_from(["hq", "zz"]), "platform": st.just("frr")},
                optional={
                    "mgmt_ip": SCALARS | st.sampled_from(["10.0.0.1", "10.0.0.1"]),
                    "interfaces": st.lists(
                        st.fixed_dictionaries(
                            {"name": st.text(max_size=6)}, optional={"speed": SCALARS, "mac": SCALARS}
                        ),
                        max_size=3,
                    )
                    | json_values,
                },
            ),
            max_size=4,
        )
        | json_values,
        "prefixes": st.lists(st.fixed_dictionaries({"cidr": SCALARS | st.just("10.0.0.0/8")}), max_size=3),
        "ip_addresses": st.lists(st.fixed_dictionaries({"address": SCALARS | st.just("10.0.0.9/8")}), max_size=3),
        "links": st.lists(st.dictionaries(st.sampled_from(["a", "a_port", "b", "b_port"]), SCALARS), max_size=2),
        "credentials": st.lists(st.dictionaries(st.sampled_from(["name", "kind", "secret"]), SCALARS), max_size=2),
    },
)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=doc_like | json_values, as_text=st.booleans(), junk=st.binary(max_size=40))
def test_random_import_documents(
    api: httpx.Client, tokens: dict[str, str], doc: object, as_text: bool, junk: bytes
) -> None:
    """Structured and unstructured garbage: a 4xx problem (or a clean import), never a 500."""
    import json

    content = json.dumps(doc).encode() if as_text else junk
    r = api.post(
        "/api/v1/import", content=content, headers={**auth(tokens["admin"]), "content-type": "application/yaml"}
    )
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json"
        assert "Traceback" not in r.text and "\n" not in r.json()["detail"]
