"""RN-17: ID numbers and bank accounts sealed at rest and counted by a keyed hash.

The sealing is shared.secret_box (AES-256-GCM, key ring ID_ENCRYPTION_KEYS, key id stored,
bound to the account and to the kind of data); the fingerprint is an HMAC-SHA256 under
ID_HASH_KEY, so the quota tables identify a person or an enterprise without holding anything
that a list of known ID numbers could be hashed against."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from enum import StrEnum

from shared.secret_box import Sealed, SecretBox


class Purpose(StrEnum):
    """The kinds of sensitive data: a ciphertext of one never opens as another."""

    PERSON = "verification.person"  # a person's name and document number
    BANK_ACCOUNT = "verification.bank-account"  # RN-5 remittance (enterprise methods)
    LEGAL_PERSON = "verification.legal-person"  # RN-5 legal-person methods
    ENTERPRISE = "verification.enterprise"  # RN-7: the enterprise's quota key (its code)


class SensitiveData:
    """Seals and fingerprints the sensitive values of one deployment."""

    def __init__(self, ring: Mapping[str, bytes], current: str, *, hash_key: bytes) -> None:
        self._boxes = {purpose: SecretBox(ring, current, purpose=purpose) for purpose in Purpose}
        self._hash_key = hash_key

    @property
    def current_key_id(self) -> str:
        return self._boxes[Purpose.PERSON].current_key_id

    def fingerprint(self, purpose: Purpose, value: str) -> str:
        """The keyed hash that stands for the value in quotas and lookups."""
        message = f"{purpose}:{value}".encode()
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()

    def seal(self, purpose: Purpose, values: Mapping[str, str], *, account_id: str) -> Sealed:
        plaintext = json.dumps(dict(values), ensure_ascii=False, sort_keys=True).encode()
        return self._boxes[purpose].seal(plaintext, account_id=account_id)

    def open(self, purpose: Purpose, sealed: Sealed, *, account_id: str) -> dict[str, str]:
        """SecretUnreadable when the ring lost its key, or the row was moved or altered."""
        opened = json.loads(self._boxes[purpose].open(sealed, account_id=account_id))
        return {str(k): str(v) for k, v in opened.items()}
