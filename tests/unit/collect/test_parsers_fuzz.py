"""Fuzzing: whatever a device (or something pretending to be one) answers, every parser returns records or
raises ParseError (a NetwardenError) - never another exception, never a hang."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netwarden.collect.parsers import PARSERS, ParseError, parse
from netwarden.collect.parsers.registry import FACT_KINDS
from netwarden.collect.platforms import platforms
from tests.support.shared_data import shared_data

# (parser, template) for every command of every platform file, plus the text parsers.
PAIRS = sorted(
    {
        (spec.parser, spec.template)
        for platform in platforms().values()
        for kind in FACT_KINDS
        for spec in platform.commands.of(kind)
    }
)
JSON_PARSERS = sorted(name for name in PARSERS if name.startswith(("frr.", "linux.")) and name != "linux.speeds")
CORPUS = shared_data() / "ntc-templates" / "tests"
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


def _survives(parser: str, text: str, template: str | None) -> None:
    try:
        result = parse(parser, text, template)
    except ParseError:
        return
    assert result is not None


def test_every_platform_command_is_fuzzed() -> None:
    assert len(PAIRS) >= 30
    assert {p for p, _ in PAIRS} == set(PARSERS)


@pytest.mark.parametrize(("parser", "template"), PAIRS, ids=[f"{p}:{t or '-'}" for p, t in PAIRS])
@FUZZ
@given(text=st.text(max_size=400))
def test_random_text(parser: str, template: str | None, text: str) -> None:
    _survives(parser, text, template)


@pytest.mark.parametrize("parser", JSON_PARSERS)
@FUZZ
@given(value=json_values)
def test_random_json(parser: str, value: Any) -> None:
    _survives(parser, json.dumps(value), None)


# Shapes that look right at the top and go wrong underneath.
NEAR_MISSES = [
    '{"eth0": null}',
    '{"eth0": {"ipAddresses": [{"address": "not-an-ip"}]}}',
    '{"eth0": {"ipAddresses": "10.0.0.1/24"}}',
    '{"neighbors": {"1.1.1.1": [null]}}',
    '{"neighbors": []}',
    '{"ipv4Unicast": {"peers": {"10.0.0.1": 7}}}',
    '{"10.0.0.0/8": [{"nexthops": [1, 2]}]}',
    '{"10.0.0.0/33": [{"protocol": "ospf"}]}',
    '[{"ifname": "eth0", "addr_info": [{"local": "x", "prefixlen": 99}]}]',
    '[{"dst": "300.0.0.0/8"}]',
    '{"lldp": {"interface": {"eth0": {"chassis": [1, 2], "port": "x"}}}}',
    '{"lldp": [{"interface": 5}]}',
    "[" * 5000 + "]" * 5000,
    "\x00\xff\xfe garbage",
]


@pytest.mark.parametrize("parser", JSON_PARSERS)
@pytest.mark.parametrize("text", NEAR_MISSES, ids=range(len(NEAR_MISSES)))
def test_json_near_misses(parser: str, text: str) -> None:
    _survives(parser, text, None)


def _corpus_texts() -> list[tuple[str, str | None, str]]:
    out = []
    for parser, template in PAIRS:
        if template is None:
            continue
        platform, _, command = template.removesuffix(".textfsm").partition("_show_")
        folder = CORPUS / platform / f"show_{command}"
        for raw in sorted(folder.glob("*.raw"))[:1]:
            out.append((parser, template, raw.read_text()))
    return out


CORPUS_TEXTS = _corpus_texts()


@pytest.mark.skipif(not CORPUS_TEXTS, reason="ntc-templates corpus not found")
@FUZZ
@given(data=st.data())
def test_mangled_real_output(data: st.DataObject) -> None:
    parser, template, text = data.draw(st.sampled_from(CORPUS_TEXTS))
    lines = text.splitlines()
    start = data.draw(st.integers(0, len(lines)))
    end = data.draw(st.integers(start, len(lines)))
    junk = data.draw(st.text(max_size=40))
    mangled = "\n".join([*lines[:start], junk, *lines[end:]])
    # Truncation mid-value is the usual failure of a CLI session that timed out.
    cut = data.draw(st.integers(0, len(mangled)))
    _survives(parser, mangled[:cut], template)


def test_the_mangling_covers_most_templates() -> None:
    assert len(CORPUS_TEXTS) >= 15


def test_unknown_parser_and_missing_template_are_parse_errors() -> None:
    with pytest.raises(ParseError, match="unknown parser"):
        parse("nope.nothing", "x")
    with pytest.raises(ParseError, match="needs a template"):
        parse("ntc.interfaces", "x")
    with pytest.raises(ParseError, match="no ntc-templates template"):
        parse("ntc.interfaces", "x", "no_such_template.textfsm")
