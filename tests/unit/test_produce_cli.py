"""`account-center-produce`: the command line, the contract check and the refusals (EXT).

Publishing is replaced by a recorder here; tests/integration/test_produce_facts.py sends
over the real broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared import produce_cli
from shared.events import (
    EXTERNAL_TOPICS,
    BillingStanding,
    ComplaintsStanding,
    Envelope,
    PaymentReceived,
    payloads_on,
)
from shared.produce_cli import BAD_INPUT, external_facts, run
from shared.settings import ServiceSettings

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
ACCOUNT = "100000000001"
BILLING = [
    "--overdue-fen",
    "0",
    "--advance-payment-fen",
    "0",
    "--balance-fen",
    "3700",
    "--vouchers",
    "0",
    "--pending-orders",
    "0",
]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[ServiceSettings, str, Envelope[Any]]]:
    """What would have been published; nothing reaches a broker."""
    for name in ("KAFKA_TOPIC_PREFIX", "KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    calls: list[tuple[ServiceSettings, str, Envelope[Any]]] = []

    async def record(settings: ServiceSettings, topic: str, envelope: Envelope[Any]) -> None:
        calls.append((settings, topic, envelope))

    monkeypatch.setattr(produce_cli, "publish", record)
    return calls


def refused(capsys: pytest.CaptureFixture[str], args: list[str]) -> list[str]:
    """Run, expect the refusal (exit 2, nothing on stdout); the problem lines."""
    assert run(args, now=NOW) == BAD_INPUT
    out, err = capsys.readouterr()
    assert out == ""
    first, *lines = err.splitlines()
    assert first.startswith("account-center-produce: ") and "refused, nothing sent" in first
    return [line.strip() for line in lines]


def test_ext_every_external_fact_can_be_produced_and_nothing_else() -> None:
    expected = {p.event_type for t in EXTERNAL_TOPICS for p in payloads_on(t)}
    assert set(external_facts()) == expected
    assert "AccountRegistered" not in external_facts()  # our own events are not forged here


def test_ext_list_names_each_fact_and_its_topic(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "BillingStanding v1 on billing.events" in lines
    assert "ComplaintsStanding v1 on complaints.events" in lines
    assert len(lines) == len(external_facts())


def test_ext_without_a_fact_it_lists_them_and_refuses(
    sent: list[tuple[ServiceSettings, str, Envelope[Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([]) == BAD_INPUT
    assert "BillingStanding v1 on billing.events" in capsys.readouterr().out.splitlines()
    assert sent == []


def test_ext_a_valid_fact_is_published_in_the_envelope_and_its_id_printed(
    sent: list[tuple[ServiceSettings, str, Envelope[Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["BillingStanding", "--account-id", ACCOUNT, *BILLING], now=NOW) == 0
    out, err = capsys.readouterr()
    ((settings, topic, envelope),) = sent
    assert out == f"{envelope.event_id}\n"
    assert "BillingStanding v1 for 100000000001 published on billing.events by billing" in err
    assert topic == "billing.events" and settings.kafka_topic_prefix == ""
    assert envelope.type == "BillingStanding" and envelope.version == 1
    assert envelope.account_id == ACCOUNT and envelope.producer == "billing"
    assert envelope.occurred_at == NOW
    assert envelope.payload == BillingStanding(
        as_of=NOW,  # left out: now
        overdue_fen=0,
        advance_payment_fen=0,
        balance_fen=3700,
        vouchers=0,
        pending_orders=0,
    )


def test_ext_json_options_prefix_bootstrap_and_producer_are_honoured(
    sent: list[tuple[ServiceSettings, str, Envelope[Any]]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", "demo_")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example:9092")
    case = {"case_id": "C-1", "kind": "report", "opened_at": "2026-11-20T09:00:00Z"}
    args = [
        "ComplaintsStanding",
        "--account-id",
        ACCOUNT,
        "--producer",
        "complaints-replay",
        "--as-of",
        "2026-11-23T14:00:00+08:00",
        "--json",
        json.dumps({"open_cases": [case]}),
    ]
    assert run(args, now=NOW) == 0
    ((settings, _, envelope),) = sent
    assert settings.kafka_topic_prefix == "demo_"
    assert settings.kafka_bootstrap_servers == "kafka.example:9092"
    assert settings.service_name == "complaints-replay"
    assert envelope.producer == "complaints-replay"
    assert isinstance(envelope.payload, ComplaintsStanding)
    assert [c.case_id for c in envelope.payload.open_cases] == ["C-1"]
    assert envelope.payload.as_of == datetime(2026, 11, 23, 6, tzinfo=UTC)

    again = [*args[:-2], "--bootstrap", "b:1", "--topic-prefix", "x_", "--open-cases", "[]"]
    assert run(again) == 0
    assert (sent[1][0].kafka_bootstrap_servers, sent[1][0].kafka_topic_prefix) == ("b:1", "x_")


def test_ext_bad_input_names_every_field_and_its_problem_and_sends_nothing(
    sent: list[tuple[ServiceSettings, str, Envelope[Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    lines = refused(
        capsys,
        [
            "BillingStanding",
            "--account-id",
            "0100",
            "--overdue-fen",
            "-1",
            "--balance-fen",
            "1.5",
            "--vouchers",
            "two",
            "--as-of",
            "2026-11-23T15:00:00",
        ],
    )
    assert lines == [
        "account_id (--account-id): not an account ID (decimal digits, no leading zero, at "
        "most 19)",
        "as_of (--as-of): Input should have timezone info",
        "overdue_fen (--overdue-fen): Input should be greater than or equal to 0",
        "advance_payment_fen (--advance-payment-fen): Field required",
        "balance_fen (--balance-fen): Input should be a valid integer",
        "vouchers (--vouchers): Input should be a valid integer",
        "pending_orders (--pending-orders): Field required",
    ]
    assert sent == []


def test_rn_17_a_refusal_never_echoes_the_value(
    sent: list[tuple[ServiceSettings, str, Envelope[Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    lines = refused(
        capsys,
        [
            "PaymentReceived",
            "--account-id",
            ACCOUNT,
            "--payment-id",
            "PAY-1",
            "--amount-fen",
            "37",
            "--payer-kind",
            "corporate",
            "--payer-name",
            "Hangzhou Example",
            "--payer-account-masked",
            "6222020200112233",
        ],
    )
    assert len(lines) == 1
    assert lines[0].startswith("payer_account_masked (--payer-account-masked): String should")
    assert "6222020200112233" not in lines[0]
    assert sent == []


def test_ext_an_unknown_option_or_json_field_is_named(
    sent: list[tuple[ServiceSettings, str, Envelope[Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    lines = refused(capsys, ["BillingStanding", "--account-id", ACCOUNT, "--overdue", "3"])
    assert lines[0].startswith("--overdue: not an option of BillingStanding (its fields: ")
    assert "--overdue-fen" in lines[0]

    lines = refused(
        capsys,
        ["BillingStanding", "--account-id", ACCOUNT, *BILLING[2:], "--json", '{"overdue_fe": 0}'],
    )
    assert lines == [
        "overdue_fen (--overdue-fen): Field required",
        "overdue_fe: Extra inputs are not permitted",
    ]
    assert sent == []


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (["--json", "{"], "--json: not JSON (Expecting property name"),
        (["--json", "[1]"], "--json: not a JSON object"),
        (
            ["--json", '{"collaborators": 1}', "--collaborators", "1"],
            "collaborators (--collaborators): given twice (in --json too)",
        ),
    ],
)
def test_ext_json_input_problems_are_named(
    sent: list[tuple[ServiceSettings, str, Envelope[Any]]],
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    problem: str,
) -> None:
    lines = refused(capsys, ["CamStanding", "--account-id", ACCOUNT, *extra])
    assert lines[0].startswith(problem), lines


def test_can_2_list_fields_take_json_and_cross_field_rules_are_named(
    sent: list[tuple[ServiceSettings, str, Envelope[Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["ResourcesStanding", "--account-id", ACCOUNT, "--resources-in-use", "2"]
    assert refused(capsys, [*base, "--products", "cvm"]) == [
        "products (--products): not JSON (Expecting value); this field takes JSON"
    ]
    assert refused(capsys, [*base, "--products", "[]"]) == [
        "products: empty exactly when resources_in_use is 0"
    ]
    assert refused(capsys, [*base, "--products", '["CVM"]']) == [
        "products.0 (--products): String should match pattern '^[a-z][a-z0-9_-]{0,31}$'"
    ]
    assert run([*base, "--products", '["cvm", "cos"]'], now=NOW) == 0
    assert sent[0][2].payload.products == ["cvm", "cos"]


def test_ext_a_timestamp_ahead_of_the_clock_is_refused(
    sent: list[tuple[ServiceSettings, str, Envelope[Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    """A consumer keeps the newest as_of: one from the future would pin the fact."""
    base = ["CamStanding", "--account-id", ACCOUNT, "--json"]
    counts = {"collaborators": 0, "sub_users": 0, "message_recipients": 0}
    ahead = {**counts, "as_of": "2026-11-23T07:05:01Z"}
    assert refused(capsys, [*base, json.dumps(ahead)]) == [
        "as_of (--as-of): more than 0:05:00 ahead of this machine's clock"
    ]
    assert run([*base, json.dumps({**counts, "as_of": "2026-11-23T07:05:00Z"})], now=NOW) == 0


def test_rn_12_a_sub_account_is_not_its_own_root(
    sent: list[tuple[ServiceSettings, str, Envelope[Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["SubAccountCreated", "--account-id", "100000000002", "--root-account-id"]
    assert refused(capsys, [*base, "100000000002"]) == [
        "root_account_id (--root-account-id): the fact's own account"
    ]
    assert run([*base, ACCOUNT], now=NOW) == 0
    assert sent[0][2].payload.root_account_id == ACCOUNT
    assert sent[0][2].payload.created_at == NOW


def test_ext_the_producer_name_is_checked(
    sent: list[tuple[ServiceSettings, str, Envelope[Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["BillingStanding", "--account-id", ACCOUNT, *BILLING, "--producer", "Billing Team"]
    assert refused(capsys, args) == [
        "producer (--producer): lower-case letters, digits, - and _ (at most 64)"
    ]


def test_ext_sasl_without_credentials_is_refused_before_connecting(
    sent: list[tuple[ServiceSettings, str, Envelope[Any]]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    assert run(["BillingStanding", "--account-id", ACCOUNT, *BILLING], now=NOW) == BAD_INPUT
    assert "KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is not set" in capsys.readouterr().err
    assert sent == []


def test_ext_each_fact_has_its_own_help_listing_its_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(["PaymentReceived", "--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "on billing.events (producer: billing, not the account center)" in out
    for field in PaymentReceived.model_fields:
        assert "--" + field.replace("_", "-") in out
    assert "RN-17" in out


def test_ext_a_broker_that_does_not_answer_is_reported_not_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAFKA_TOPIC_PREFIX", raising=False)
    args = ["BillingStanding", "--account-id", ACCOUNT, *BILLING, "--bootstrap", "127.0.0.1:1"]
    assert run(args, now=NOW) == produce_cli.NOT_SENT
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("account-center-produce: not sent to billing.events at 127.0.0.1:1: ")
