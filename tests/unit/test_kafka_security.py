"""How the services' Kafka clients log in: plain for the embedded broker, SASL/SCRAM with the
service's own user where the broker has ACLs (deploy/compose.yaml)."""

from __future__ import annotations

import ssl

import pytest
from faststream.security import SASLScram256, SASLScram512

from services.verification.settings import VerificationSettings
from shared.kafka import broker_security, client_options

pytestmark = pytest.mark.unit


def test_the_embedded_broker_is_spoken_to_in_plain() -> None:
    settings = VerificationSettings()
    assert client_options(settings) == {}
    assert broker_security(settings) is None


def test_every_client_logs_in_as_the_services_scram_user() -> None:
    settings = VerificationSettings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="verification",
        kafka_sasl_password="s3cret",
    )
    assert client_options(settings) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "verification",
        "sasl_plain_password": "s3cret",
        "ssl_context": None,
    }
    security = broker_security(settings)
    assert isinstance(security, SASLScram512)
    assert (security.username, security.password, security.use_ssl) == (
        "verification",
        "s3cret",
        False,
    )
    assert "s3cret" not in repr(settings)  # a SecretStr, never logged


def test_sasl_ssl_verifies_the_broker_certificate() -> None:
    settings = VerificationSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="verification",
        kafka_sasl_password="s3cret",
    )
    context = client_options(settings)["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.verify_mode is ssl.CERT_REQUIRED
    security = broker_security(settings)
    assert isinstance(security, SASLScram256) and security.use_ssl
