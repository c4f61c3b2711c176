"""The BER codec: round trips, known encodings, and garbage that must end in BerError only."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netwarden.collect import _ber as ber
from netwarden.collect import _usm as usm

oids = st.builds(
    lambda first, second, rest: ".".join(map(str, [first, second, *rest])),
    st.integers(0, 2),
    st.integers(0, 39),
    st.lists(st.integers(0, 2**32 - 1), max_size=20),
)


@given(oids)
def test_oid_round_trip(oid: str) -> None:
    assert ber.decode_oid(ber.encode_oid(oid)) == oid


def test_known_oid_encodings() -> None:
    # X.690 examples and SNMP's usual prefix
    assert ber.encode_oid("1.3.6.1.2.1.1.1.0") == bytes([0x2B, 6, 1, 2, 1, 1, 1, 0])
    assert ber.encode_oid("2.999.3") == bytes([0x88, 0x37, 0x03])
    assert ber.encode_oid("1.3.6.1.4.1.30065") == bytes([0x2B, 6, 1, 4, 1, 0x81, 0xEA, 0x71])
    assert ber.decode_oid(bytes([0x88, 0x37, 0x03])) == "2.999.3"


@pytest.mark.parametrize("bad", ["", "1", "3.1", "1.40", "1.3.x", "1.-3"])
def test_bad_oids_are_refused(bad: str) -> None:
    with pytest.raises(ber.BerError):
        ber.encode_oid(bad)


@given(st.integers(-(2**63), 2**64))
def test_integer_round_trip(value: int) -> None:
    encoded = ber.encode_int(value)
    decoded, end = ber.read_int(encoded, 0)
    assert (decoded, end) == (value, len(encoded))


values = st.one_of(
    st.integers(-(2**31), 2**31 - 1),
    st.binary(max_size=300),
    oids,
    st.none(),
    st.sampled_from([ber.NO_SUCH_OBJECT, ber.NO_SUCH_INSTANCE, ber.END_OF_MIB_VIEW]),
)


@given(st.lists(st.tuples(oids, values), max_size=40))
def test_varbind_lists_round_trip(pairs: list[tuple[str, ber.Value]]) -> None:
    encoded = ber.encode_varbinds([(ber.encode_oid(o), ber.encode_value(v)) for o, v in pairs])
    decoded = ber.read_varbinds(encoded, 0)
    assert [(ber.decode_oid(o), v) for o, v in decoded] == pairs


def test_application_types_decode() -> None:
    body = ber.encode_oid("1.3.6.1.2.1.4.20.1.1.10.0.0.1")
    pairs = [
        (body, ber.tlv(ber.IP_ADDRESS, bytes([10, 0, 0, 1]))),
        (body, ber.tlv(ber.COUNTER32, (2**32 - 1).to_bytes(5, "big"))),
        (body, ber.tlv(ber.COUNTER64, (2**64 - 1).to_bytes(9, "big"))),
        (body, ber.tlv(ber.TIMETICKS, (12345).to_bytes(2, "big"))),
        (body, ber.tlv(ber.GAUGE32, b"\x00\xff")),
    ]
    decoded = [v for _, v in ber.read_varbinds(ber.encode_varbinds(pairs), 0)]
    assert decoded == ["10.0.0.1", 2**32 - 1, 2**64 - 1, 12345, 255]


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_garbage_raises_only_ber_error(data: bytes) -> None:
    with contextlib.suppress(ber.BerError):
        ber.read_varbinds(data, 0)


@settings(max_examples=300)
@given(st.lists(st.tuples(oids, values), min_size=1, max_size=8), st.data())
def test_truncated_or_flipped_messages_raise_only_ber_error(
    pairs: list[tuple[str, ber.Value]], data: st.DataObject
) -> None:
    encoded = bytearray(ber.encode_varbinds([(ber.encode_oid(o), ber.encode_value(v)) for o, v in pairs]))
    cut = data.draw(st.integers(0, len(encoded)))
    flip = data.draw(st.integers(0, max(0, cut - 1)))
    mangled = bytearray(encoded[:cut])
    if mangled:
        mangled[flip] ^= data.draw(st.integers(1, 255))
    with contextlib.suppress(ber.BerError):
        ber.read_varbinds(bytes(mangled), 0)


def test_usm_key_localisation_matches_rfc_3414_vectors() -> None:
    # RFC 3414 A.3.1 (MD5) and A.3.2 (SHA): password "maplesyrup", engine 000000000000000000000002
    engine = bytes.fromhex("000000000000000000000002")
    assert usm.localize("md5", b"maplesyrup", engine).hex() == "526f5eed9fcce26f8964c2930787d82b"
    assert usm.localize("sha", b"maplesyrup", engine).hex() == "6695febc9288e36282235fc7151f128497b38f3f"


def test_short_passphrases_are_refused() -> None:
    from netwarden.errors import InvalidInput

    with pytest.raises(InvalidInput):
        usm.master_key("sha", b"short")
