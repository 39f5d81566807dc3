"""`account-center-produce` over the real broker (EXT): the installed console script, run
as a process the way a billing, resources, CAM or complaints team would run it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from devkit.testing.facts import clear_standings, produce, publish_fact
from devkit.testing.infra import Scope
from devkit.testing.kafka import read_all
from shared.events import (
    REGISTRY,
    BillingStanding,
    ComplaintsStanding,
    PaymentReceived,
    decode,
)
from shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


async def test_ext_a_produced_fact_is_on_its_topic_keyed_by_account_and_decodes(
    scope: Scope,
) -> None:
    account = "100000000042"
    result = await produce(
        scope,
        "BillingStanding",
        "--account-id",
        account,
        "--overdue-fen",
        "12050",
        "--advance-payment-fen",
        "0",
        "--balance-fen",
        "0",
        "--vouchers",
        "1",
        "--pending-orders",
        "0",
        "--as-of",
        "2026-11-23T15:00:00+08:00",
    )
    assert result.code == 0, result.err
    event_id = uuid.UUID(result.event_id)

    (record,) = await read_all(scope.infra.kafka, scope.topic("billing.events"))
    assert record.key == account.encode()
    headers = dict(record.headers)
    assert headers["event_type"] == b"BillingStanding" and headers["event_version"] == b"1"
    assert headers["event_id"] == str(event_id).encode()
    assert record.value is not None
    envelope = decode(record.value, REGISTRY)
    assert envelope.event_id == event_id
    assert envelope.producer == "billing" and envelope.account_id == account
    assert isinstance(envelope.payload, BillingStanding)
    assert (envelope.payload.overdue_fen, envelope.payload.vouchers) == (12050, 1)
    assert envelope.payload.as_of.isoformat() == "2026-11-23T15:00:00+08:00"

    # The topic was created with the services' partitions; its DLQ is left to consumers.
    admin = AIOKafkaAdminClient(bootstrap_servers=scope.infra.kafka)
    await admin.start()
    try:
        topics = set(await admin.list_topics())
    finally:
        await admin.close()
    assert scope.topic("billing.events") in topics
    assert scope.topic("billing.events.dlq") not in topics
    assert record.partition in range(ServiceSettings().kafka_topic_partitions)


async def test_ext_a_refused_fact_sends_nothing_and_later_facts_keep_their_order(
    scope: Scope,
) -> None:
    """Bad input: exit 2, the field and the problem on stderr, nothing on the topic. Facts
    about one account share its partition, in the order they were produced, so a
    projection that keeps the newest standing sees them in order."""
    account = "100000000043"
    bad = await produce(
        scope,
        "PaymentReceived",
        "--account-id",
        account,
        "--json",
        json.dumps(
            {
                "payment_id": "PAY-1",
                "amount_fen": 0,
                "payer_kind": "corporate",
                "payer_name": "Hangzhou Example Technology Co., Ltd.",
                "payer_account_masked": "6222020200112233",
            }
        ),
    )
    assert bad.code == 2 and bad.out == ""
    assert "amount_fen (--amount-fen): Input should be greater than 0" in bad.err
    assert "payer_account_masked (--payer-account-masked): String should match" in bad.err
    assert "6222020200112233" not in bad.err
    assert await read_all(scope.infra.kafka, scope.topic("billing.events")) == []

    case = {"case_id": "C-1", "kind": "complaint", "opened_at": "2026-11-20T09:00:00Z"}
    ids = []
    for cases in ([case], []):  # the case opens, then it is closed
        done = await produce(
            scope,
            "ComplaintsStanding",
            "--account-id",
            account,
            "--open-cases",
            json.dumps(cases),
        )
        assert done.code == 0, done.err
        ids.append(uuid.UUID(done.event_id))

    records = await read_all(scope.infra.kafka, scope.topic("complaints.events"))
    assert len({r.partition for r in records}) == 1
    events = [decode(r.value, REGISTRY) for r in sorted(records, key=lambda r: r.offset) if r.value]
    assert [e.event_id for e in events] == ids
    assert all(isinstance(e.payload, ComplaintsStanding) for e in events)
    assert [len(e.payload.open_cases) for e in events] == [1, 0]
    assert all(e.producer == "complaints" for e in events)


async def test_rn_5_a_payment_received_reaches_billing_events(scope: Scope) -> None:
    account = "100000000044"
    result = await produce(
        scope,
        "PaymentReceived",
        "--account-id",
        account,
        "--payment-id",
        "PAY-20261123-000042",
        "--amount-fen",
        "37",
        "--payer-kind",
        "corporate",
        "--payer-name",
        "Hangzhou Example Technology Co., Ltd.",
        "--payer-account-masked",
        "************1234",
    )
    assert result.code == 0, result.err
    (record,) = await read_all(scope.infra.kafka, scope.topic("billing.events"))
    assert record.value is not None
    payment = decode(record.value, REGISTRY).payload
    assert isinstance(payment, PaymentReceived)
    assert (payment.amount_fen, payment.payment_id) == (37, "PAY-20261123-000042")
    assert payment.payer_account_masked == "************1234"


async def test_ext_the_test_helpers_publish_the_four_clear_standings(scope: Scope) -> None:
    """devkit.testing.facts: what the projections' tests start from (CAN-2 all met)."""
    account = "100000000045"
    as_of = datetime(2026, 11, 23, 7, tzinfo=UTC)
    sent = [await publish_fact(scope, fact, account) for fact in clear_standings(as_of)]
    for envelope in sent:
        (record,) = await read_all(scope.infra.kafka, scope.topic(envelope.payload.topic))
        assert record.key == account.encode() and record.value is not None
        back = decode(record.value, REGISTRY)
        assert back.payload == envelope.payload and back.producer == envelope.producer
    assert [e.producer for e in sent] == ["billing", "resources", "cam", "complaints"]
