"""Secrets and sensitive data encrypted at rest: AES-256-GCM under a key ring for rotation.

Used by identity for TOTP secrets (MFA-6) and by verification for ID numbers and bank
accounts (RN-17). A sealed value is (key id, nonce || ciphertext || tag). The associated
data binds it to its purpose, its account and its key id, so a ciphertext copied onto another
account's row, or from one kind of data to another, does not open. The key id is stored beside
the ciphertext: after the current key id names a new key, values sealed under the old one
still open while the old key stays in the ring.

A key ring is a setting: `key-id:base64-32-bytes`, comma-separated (e.g.
MFA_ENCRYPTION_KEYS, ID_ENCRYPTION_KEYS); `key_ring_refusals` says why one must not serve.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12  # NIST SP 800-38D: 96-bit random nonces
MAX_KEY_ID_CHARS = 32


class KeyRingInvalid(ValueError):
    """A key ring setting does not parse (the message names the entry, never a key)."""


class SecretUnreadable(Exception):
    """A sealed value does not open: unknown key id, another account's row, or tampering."""


@dataclass(frozen=True)
class Sealed:
    """What the database keeps: the key id and nonce || ciphertext || tag."""

    key_id: str
    ciphertext: bytes


def parse_key_ring(spec: str) -> dict[str, bytes]:
    """`kid:base64key,kid2:base64key2` -> {kid: 32-byte key}."""
    ring: dict[str, bytes] = {}
    for position, entry in enumerate(part.strip() for part in spec.split(",")):
        if not entry:
            continue
        kid, sep, encoded = entry.partition(":")
        kid = kid.strip()
        if not sep or not kid or len(kid) > MAX_KEY_ID_CHARS or not kid.isprintable():
            raise KeyRingInvalid(f"entry {position + 1} is not `key-id:base64-key`")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KeyRingInvalid(f"key `{kid}` is not base64") from None
        if len(key) != KEY_BYTES:
            raise KeyRingInvalid(f"key `{kid}` is not {KEY_BYTES} bytes")
        if kid in ring:
            raise KeyRingInvalid(f"key id `{kid}` appears twice")
        ring[kid] = key
    if not ring:
        raise KeyRingInvalid("no key")
    return ring


def key_ring_spec(kid: str, key: bytes) -> str:
    """One ring entry, as the setting takes it (dev keys, tests)."""
    return f"{kid}:{base64.b64encode(key).decode()}"


def current_key_id(spec: str, configured: str | None) -> str:
    """The key id new values are sealed under: the configured one, else the ring's first."""
    return configured or next(iter(parse_key_ring(spec)))


def key_ring_refusals(
    name: str, spec: str, configured: str | None, *, dev_key: bytes, dev_mode: bool
) -> list[str]:
    """Why the key ring setting `name` must not serve, with `configured` its current key id:
    it does not parse, the current key id names no key of it, or it holds the committed
    dev-only key outside dev mode. One line per problem, never a key."""
    try:
        ring = parse_key_ring(spec)
    except KeyRingInvalid as error:
        return [f"{name} is not a key ring: {error}"]
    problems = []
    if configured and configured not in ring:
        problems.append(f"the current key id of {name} names no key of the ring")
    if not dev_mode and dev_key in ring.values():
        problems.append(f"{name} holds the committed dev-only key")
    return problems


class SecretBox:
    """Seals under the current key; opens under whichever key of the ring sealed it.

    `purpose` names the kind of data (e.g. `identity.mfa-secret`): it is part of the
    associated data, so one box's ciphertexts never open in another's."""

    def __init__(self, keys: Mapping[str, bytes], current: str, *, purpose: str) -> None:
        if current not in keys:
            raise KeyRingInvalid(f"the current key id `{current}` is not in the ring")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self._current = current
        self._purpose = purpose

    @classmethod
    def from_settings(cls, spec: str, current: str | None, *, purpose: str) -> SecretBox:
        return cls(parse_key_ring(spec), current_key_id(spec, current), purpose=purpose)

    @property
    def current_key_id(self) -> str:
        return self._current

    def _aad(self, account_id: int | str, key_id: str) -> bytes:
        return f"{self._purpose}:{account_id}:{key_id}".encode()

    def seal(self, plaintext: bytes, *, account_id: int | str) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        box = self._keys[self._current]
        body = box.encrypt(nonce, plaintext, self._aad(account_id, self._current))
        return Sealed(self._current, nonce + body)

    def open(self, sealed: Sealed, *, account_id: int | str) -> bytes:
        box = self._keys.get(sealed.key_id)
        if box is None or len(sealed.ciphertext) <= NONCE_BYTES:
            raise SecretUnreadable(f"no key `{sealed.key_id}` opens this secret")
        nonce, body = sealed.ciphertext[:NONCE_BYTES], sealed.ciphertext[NONCE_BYTES:]
        try:
            return box.decrypt(nonce, body, self._aad(account_id, sealed.key_id))
        except InvalidTag:
            raise SecretUnreadable("the secret does not open for this account") from None
