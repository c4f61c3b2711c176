"""SNMPv3 user-based security (RFC 3414, RFC 3826, RFC 7860): keys, authentication, privacy.

Password-to-key stretching hashes a megabyte per password, so master keys are cached per
(protocol, password) and localised keys per engine; a fleet sharing one credential pays it once.
AES-192/256 extend the localised key as in draft-blumenthal-aes-usm-04 (net-snmp's ``AES-192``/
``AES-256``, pysnmp's ``usmAesCfb192/256``); Cisco's "3DES-style" extension is not offered.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from netwarden.errors import InvalidInput

AuthProtocol = Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocol = Literal["des", "aes", "aes192", "aes256"]

# protocol -> (hash name, HMAC truncation in bytes)  RFC 3414 (MD5, SHA-1), RFC 7860 (SHA-2)
AUTH: Final[dict[str, tuple[str, int]]] = {
    "md5": ("md5", 12),
    "sha": ("sha1", 12),
    "sha224": ("sha224", 16),
    "sha256": ("sha256", 24),
    "sha384": ("sha384", 32),
    "sha512": ("sha512", 48),
}
# protocol -> key length in bytes
PRIV: Final[dict[str, int]] = {"des": 16, "aes": 16, "aes192": 24, "aes256": 32}


@lru_cache(maxsize=256)
def master_key(protocol: str, password: bytes) -> bytes:
    """RFC 3414 A.2: hash 1 MiB of the repeated password."""
    if len(password) < 8:
        raise InvalidInput("SNMPv3 passphrases must be at least 8 characters (RFC 3414)")
    name = AUTH[protocol][0]
    digest = hashlib.new(name)
    repeated = password * (1_048_576 // len(password) + 1)
    digest.update(repeated[:1_048_576])
    return digest.digest()


@lru_cache(maxsize=4096)
def localize(protocol: str, password: bytes, engine_id: bytes) -> bytes:
    """The key bound to one authoritative engine: H(Ku || engineID || Ku)."""
    ku = master_key(protocol, password)
    return hashlib.new(AUTH[protocol][0], ku + engine_id + ku).digest()


def priv_key(auth_protocol: str, priv_protocol: str, password: bytes, engine_id: bytes) -> bytes:
    key = localize(auth_protocol, password, engine_id)
    need = PRIV[priv_protocol]
    name = AUTH[auth_protocol][0]
    while len(key) < need:  # Blumenthal extension: Kul || H(Kul) ...
        key += hashlib.new(name, key).digest()
    return key[:need]


@dataclass(frozen=True)
class UsmKeys:
    """The localised keys for one (user, engine)."""

    auth_protocol: str | None
    auth_key: bytes
    priv_protocol: str | None
    priv_key: bytes

    @property
    def mac_length(self) -> int:
        return AUTH[self.auth_protocol][1] if self.auth_protocol else 0

    def sign(self, message: bytes) -> bytes:
        assert self.auth_protocol is not None
        name, size = AUTH[self.auth_protocol]
        return hmac.new(self.auth_key, message, name).digest()[:size]

    def encrypt(self, plain: bytes, boots: int, time: int, salt: int) -> tuple[bytes, bytes]:
        """(ciphertext, privParameters) for a scoped PDU."""
        if self.priv_protocol == "des":
            salt_bytes = boots.to_bytes(4, "big") + (salt & 0xFFFFFFFF).to_bytes(4, "big")
            iv = bytes(a ^ b for a, b in zip(self.priv_key[8:16], salt_bytes, strict=True))
            padded = plain + b"\x00" * (-len(plain) % 8)
            enc = _des(self.priv_key[:8], iv).encryptor()
            return enc.update(padded) + enc.finalize(), salt_bytes
        salt_bytes = (salt & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
        iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + salt_bytes
        enc = Cipher(algorithms.AES(self.priv_key), CFB(iv)).encryptor()
        return enc.update(plain) + enc.finalize(), salt_bytes

    def decrypt(self, cipher: bytes, priv_params: bytes, boots: int, time: int) -> bytes:
        if len(priv_params) != 8:
            raise ValueError("privacy parameters are not 8 bytes")
        if self.priv_protocol == "des":
            if len(cipher) % 8:
                raise ValueError("DES ciphertext is not a multiple of 8 bytes")
            iv = bytes(a ^ b for a, b in zip(self.priv_key[8:16], priv_params, strict=True))
            dec = _des(self.priv_key[:8], iv).decryptor()
            return dec.update(cipher) + dec.finalize()
        iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + priv_params
        dec = Cipher(algorithms.AES(self.priv_key), CFB(iv)).decryptor()
        return dec.update(cipher) + dec.finalize()


def _des(key: bytes, iv: bytes) -> Cipher[modes.CBC]:
    # Single DES is three-key 3DES with one key repeated; cryptography keeps it among the "decrepit".
    return Cipher(TripleDES(key * 3), modes.CBC(iv))


def keys_for(
    auth_protocol: str | None,
    auth_password: bytes,
    priv_protocol: str | None,
    priv_password: bytes,
    engine_id: bytes,
) -> UsmKeys:
    if auth_protocol is None:
        return UsmKeys(None, b"", None, b"")
    auth = localize(auth_protocol, auth_password, engine_id)
    priv = priv_key(auth_protocol, priv_protocol, priv_password, engine_id) if priv_protocol else b""
    return UsmKeys(auth_protocol, auth, priv_protocol, priv)
