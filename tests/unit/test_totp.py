"""MFA-1, MFA-2, MFA-6 in pure code: the TOTP verifier against RFC 6238 and an independent
generator (oathtool), the otpauth URI and QR code, and the secret box with key rotation."""

from __future__ import annotations

import base64
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from services.identity.adapters.qr_code import qr_svg
from services.identity.bootstrap import MFA_SECRET_PURPOSE
from services.identity.domain.totp import (
    code_at,
    matching_step,
    new_secret,
    otpauth_uri,
    step_at,
)
from shared.secret_box import (
    KeyRingInvalid,
    Sealed,
    SecretBox,
    SecretUnreadable,
    parse_key_ring,
)

pytestmark = pytest.mark.unit

# RFC 6238 Appendix B: the SHA-1 key is the ASCII string "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
# (Unix time, the 8-digit SHA-1 TOTP of Appendix B's table).
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


@pytest.mark.parametrize(("unix", "eight_digits"), RFC_VECTORS)
def test_mfa_1_codes_are_rfc_6238_appendix_b_truncated_to_6_digits(
    unix: int, eight_digits: str
) -> None:
    """A 6-digit HOTP is the 8-digit one modulo 10^6 (RFC 4226 5.3): its last 6 digits."""
    assert code_at(RFC_SECRET, at(unix)) == eight_digits[-6:]
    assert matching_step(RFC_SECRET, eight_digits[-6:], at(unix)) == unix // 30


def _oathtool(secret: str, unix: int) -> str:
    when = datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    reply = subprocess.run(
        ["oathtool", "--totp", "-b", f"--now={when}", secret],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return reply.stdout.strip()


OATHTOOL_TIMES = [59, 1111111109, 1700000000, 1700000029, 1700000030, 4102444800]


@pytest.mark.skipif(
    shutil.which("oathtool") is None,
    reason="oathtool (Debian package `oathtool`) is not installed: the check against an "
    "independent TOTP generator cannot run here; .ci/run installs it",
)
@pytest.mark.parametrize("unix", OATHTOOL_TIMES)
def test_mfa_1_codes_match_an_independent_generator_oathtool(unix: int) -> None:
    secret = new_secret()
    expected = _oathtool(secret, unix)

    assert len(expected) == 6
    assert code_at(secret, at(unix)) == expected
    assert matching_step(secret, expected, at(unix)) == unix // 30


def test_mfa_1_one_step_of_drift_either_way_and_no_more() -> None:
    secret = new_secret()
    now = at(1_700_000_015)
    for offset, accepted in ((-2, False), (-1, True), (0, True), (1, True), (2, False)):
        code = code_at(secret, now + timedelta(seconds=30 * offset))
        expected = step_at(now) + offset if accepted else None
        assert matching_step(secret, code, now) == expected, offset


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", " 12345", "12 456"])
def test_mfa_1_malformed_codes_never_match(code: str) -> None:
    assert matching_step(RFC_SECRET, code, at(59)) is None


def test_mfa_1_secrets_are_160_random_bits_in_base32() -> None:
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert len(base64.b32decode(secret)) == 20


def test_mfa_2_the_otpauth_uri_names_issuer_account_and_rfc_6238_parameters() -> None:
    secret = new_secret()
    uri = otpauth_uri(secret, account_name="a@example.com", issuer="Account Center")

    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/Account Center:a@example.com"
    assert query["secret"] == [secret]
    assert query["issuer"] == ["Account Center"]
    # Google's key URI format: absent parameters mean SHA1, 6 digits, 30 s.
    assert query.get("algorithm", ["SHA1"]) == ["SHA1"]
    assert query.get("digits", ["6"]) == ["6"]
    assert query.get("period", ["30"]) == ["30"]


def test_mfa_2_the_qr_code_is_an_svg_document() -> None:
    svg = qr_svg("otpauth://totp/X:a?secret=JBSWY3DPEHPK3PXP&issuer=X")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert "JBSWY3DPEHPK3PXP" not in svg  # encoded as modules, not as text


def _key(byte: int) -> str:
    return base64.b64encode(bytes([byte]) * 32).decode()


def test_mfa_6_a_sealed_secret_is_ciphertext_bound_to_its_account() -> None:
    box = SecretBox.from_settings(f"k1:{_key(1)}", "k1", purpose=MFA_SECRET_PURPOSE)
    secret = new_secret().encode()

    sealed = box.seal(secret, account_id=100000000001)
    again = box.seal(secret, account_id=100000000001)

    assert sealed.key_id == "k1"
    assert secret not in sealed.ciphertext
    assert sealed.ciphertext != again.ciphertext  # a fresh nonce each time
    assert box.open(sealed, account_id=100000000001) == secret
    with pytest.raises(SecretUnreadable):
        box.open(sealed, account_id=100000000002)  # copied onto another account's row
    tampered = Sealed("k1", sealed.ciphertext[:-1] + bytes([sealed.ciphertext[-1] ^ 1]))
    with pytest.raises(SecretUnreadable):
        box.open(tampered, account_id=100000000001)


def test_mfa_6_after_a_key_rotation_old_secrets_still_open_and_new_ones_use_the_new_key() -> None:
    old = SecretBox.from_settings(f"k1:{_key(1)}", "k1", purpose=MFA_SECRET_PURPOSE)
    sealed_before = old.seal(b"SECRET", account_id=7)

    rotated = SecretBox.from_settings(
        f"k2:{_key(2)},k1:{_key(1)}", "k2", purpose=MFA_SECRET_PURPOSE
    )
    sealed_after = rotated.seal(b"SECRET", account_id=7)

    assert rotated.open(sealed_before, account_id=7) == b"SECRET"
    assert sealed_after.key_id == "k2"
    with pytest.raises(SecretUnreadable):
        old.open(sealed_after, account_id=7)  # k2 is not in the old ring
    with pytest.raises(SecretUnreadable):
        # A key id is part of what is authenticated: relabelling a ciphertext fails.
        rotated.open(Sealed("k1", sealed_after.ciphertext), account_id=7)


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("", "no key"),
        ("k1", "entry 1 is not `key-id:base64-key`"),
        (":" + "A" * 44, "entry 1 is not `key-id:base64-key`"),
        ("k1:not base64!", "key `k1` is not base64"),
        ("k1:c2hvcnQ=", "key `k1` is not 32 bytes"),
        (f"k1:{'A' * 43}=,k1:{'B' * 43}=", "key id `k1` appears twice"),
    ],
)
def test_mfa_6_a_broken_key_ring_is_named_without_its_keys(spec: str, complaint: str) -> None:
    with pytest.raises(KeyRingInvalid) as error:
        parse_key_ring(spec)
    assert str(error.value) == complaint


def test_mfa_6_the_current_key_must_be_in_the_ring() -> None:
    with pytest.raises(KeyRingInvalid):
        SecretBox.from_settings(f"k1:{_key(1)}", "k2", purpose=MFA_SECRET_PURPOSE)
