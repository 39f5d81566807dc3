"""`account-center-produce`: publish one fact of billing, resources, CAM or complaints (EXT).

account-center-produce BillingStanding --account-id 100000000001 --overdue-fen 0 \\
    --advance-payment-fen 0 --balance-fen 3700 --vouchers 0 --pending-orders 0
account-center-produce ResourcesStanding --account-id 100000000001 \\
    --json '{"resources_in_use": 2, "products": ["cvm", "cos"]}'
account-center-produce BillingStanding --help        # the fields of one fact
account-center-produce --list                        # every fact, with its topic

The fact is checked against its contract (shared/events/) before anything is sent: bad input
is refused with each field and its problem on stderr, exit code 2. A list or object field
takes JSON (`--products '["cvm"]'`); `--json` gives any fields at once. A timestamp field of
the fact left out (`as_of`, `received_at`, ...) is now; one more than 5 minutes ahead is
refused (a consumer keeps the newest `as_of`, so a future one would pin the fact).

It publishes the envelope (producer: --producer, default the topic's owner) on
<KAFKA_TOPIC_PREFIX><topic>, keyed by the account, creating the topic if it is missing
(KAFKA_TOPIC_PARTITIONS, like the services), and prints the event id. It connects like the
services: KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM,
KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, get_args, get_origin

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from pydantic import AwareDatetime, BaseModel, ValidationError

from shared.events import (
    ALL_PAYLOADS,
    EXTERNAL_TOPICS,
    Envelope,
    EventPayload,
    encode,
    headers_of,
    is_account_id,
    new_envelope,
    owner_of,
)
from shared.events.topics import topic_name
from shared.kafka import client_options, make_producer
from shared.logging import configure_logging
from shared.settings import ServiceSettings

PROG = "account-center-produce"
BAD_INPUT = 2
NOT_SENT = 1
FUTURE_SKEW = timedelta(minutes=5)
PRODUCER_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


def external_facts() -> dict[str, type[EventPayload]]:
    """Every fact of an external topic by event type, its newest version."""
    facts: dict[str, type[EventPayload]] = {}
    for payload in ALL_PAYLOADS:
        if payload.topic not in EXTERNAL_TOPICS:
            continue
        known = facts.get(payload.event_type)
        if known is None or known.event_version < payload.event_version:
            facts[payload.event_type] = payload
    return facts


class BadInput(ValueError):
    """Input that breaks the contract; one line per field and problem."""

    def __init__(self, fact: str, problems: Sequence[str]) -> None:
        super().__init__(f"{fact} refused, nothing sent:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = list(problems)


def option_of(field: str) -> str:
    return "--" + field.replace("_", "-")


def _takes_json(annotation: Any) -> bool:
    """List, mapping and model fields are given as JSON on the command line."""
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset, dict):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_takes_json(arg) for arg in get_args(annotation) if arg is not type(None))


def _number(raw: str) -> Any:
    """An integer field's option as the JSON number it spells; other text is left for the
    contract to refuse (integers are strict: "37" is not one on the wire)."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return raw
    return value if isinstance(value, int | float) and not isinstance(value, bool) else raw


def _is_timestamp(annotation: Any) -> bool:
    return annotation in (AwareDatetime, datetime)


def fields_from(
    payload_cls: type[EventPayload], options: Mapping[str, str | None], json_text: str | None
) -> dict[str, Any]:
    """The payload's fields from `--json` and the per-field options (strings as typed)."""
    name = payload_cls.event_type
    problems: list[str] = []
    data: dict[str, Any] = {}
    if json_text is not None:
        try:
            loaded = json.loads(json_text)
        except json.JSONDecodeError as exc:
            raise BadInput(name, [f"--json: not JSON ({exc.msg} at character {exc.pos})"]) from None
        if not isinstance(loaded, dict):
            raise BadInput(name, ["--json: not a JSON object"])
        data.update(loaded)
    for field, raw in options.items():
        if raw is None:
            continue
        label = f"{field} ({option_of(field)})"
        if field in data:
            problems.append(f"{label}: given twice (in --json too)")
            continue
        info = payload_cls.model_fields[field]
        if _takes_json(info.annotation):
            try:
                data[field] = json.loads(raw)
            except json.JSONDecodeError as exc:
                problems.append(f"{label}: not JSON ({exc.msg}); this field takes JSON")
        elif info.annotation is int:
            data[field] = _number(raw)
        else:
            data[field] = raw
    if problems:
        raise BadInput(name, problems)
    return data


def build(
    payload_cls: type[EventPayload],
    data: Mapping[str, Any],
    *,
    account_id: str,
    producer: str,
    now: datetime,
) -> Envelope[Any]:
    """The envelope to publish, or BadInput naming every field that breaks the contract."""
    name = payload_cls.event_type
    problems: list[str] = []
    if not is_account_id(account_id):
        problems.append(
            "account_id (--account-id): not an account ID (decimal digits, no leading zero, "
            "at most 19)"
        )
    if not PRODUCER_PATTERN.match(producer):
        problems.append("producer (--producer): lower-case letters, digits, - and _ (at most 64)")
    values = dict(data)
    for field, info in payload_cls.model_fields.items():
        if _is_timestamp(info.annotation) and field not in values:
            values[field] = now
    payload: EventPayload | None = None
    try:
        payload = payload_cls.model_validate(values)
    except ValidationError as exc:
        problems.extend(_describe(exc, payload_cls))
    if payload is not None:
        for field, info in payload_cls.model_fields.items():
            value = getattr(payload, field)
            if field.endswith("_account_id") and value == account_id:
                problems.append(f"{field} ({option_of(field)}): the fact's own account")
            if _is_timestamp(info.annotation) and value > now + FUTURE_SKEW:
                problems.append(
                    f"{field} ({option_of(field)}): more than {FUTURE_SKEW} ahead of this "
                    "machine's clock"
                )
    if problems or payload is None:
        raise BadInput(name, problems)
    return new_envelope(payload, producer=producer, account_id=account_id, occurred_at=now)


def _describe(exc: ValidationError, payload_cls: type[EventPayload]) -> list[str]:
    """One line per problem: the field (and its option), then what is wrong; never the value."""
    lines: list[str] = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = [str(part) for part in error["loc"]]
        message = error["msg"].removeprefix("Value error, ")
        if not loc:  # a check across fields names its field in the message
            lines.append(message)
            continue
        label = ".".join(loc)
        if loc[0] in payload_cls.model_fields:
            label = f"{label} ({option_of(loc[0])})"
        lines.append(f"{label}: {message}")
    return lines


async def ensure_topic(settings: ServiceSettings, name: str) -> None:
    """Create the fact's topic if missing, with the partitions the services would give it.
    Not its dead-letter topic: that belongs to the consumers, which create it. A producer
    allowed to write an existing topic but not to create one never asks."""
    admin = AIOKafkaAdminClient(
        **client_options(settings),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
    )
    await admin.start()
    try:
        if name in set(await admin.list_topics()):
            return
        topic = NewTopic(name, settings.kafka_topic_partitions, settings.kafka_replication_factor)
        with contextlib.suppress(TopicAlreadyExistsError):  # created meanwhile by a service
            await admin.create_topics([topic])
    finally:
        await admin.close()


async def publish(settings: ServiceSettings, topic: str, envelope: Envelope[Any]) -> None:
    """Create the topic if missing, then send and wait for acks=all."""
    name = topic_name(topic, settings.kafka_topic_prefix)
    await ensure_topic(settings, name)
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(
            name,
            value=encode(envelope),
            key=envelope.account_id.encode(),
            headers=headers_of(envelope),
        )
    finally:
        await producer.stop()


def parser(facts: Mapping[str, type[EventPayload]]) -> argparse.ArgumentParser:
    doc = (__doc__ or "").splitlines()
    root = argparse.ArgumentParser(
        prog=PROG,
        allow_abbrev=False,
        description=doc[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(doc[2:]),
    )
    root.add_argument("--list", action="store_true", help="list the facts and their topics")
    kinds = root.add_subparsers(dest="fact", metavar="FACT")
    for name, payload_cls in facts.items():
        topic = payload_cls.topic
        sub = kinds.add_parser(
            name,
            allow_abbrev=False,  # --overdue must not pass for --overdue-fen
            help=f"{topic}: {(payload_cls.__doc__ or '').splitlines()[0]}",
            description=f"Publish one {name} v{payload_cls.event_version} on {topic} "
            f"(producer: {owner_of(topic)}, not the account center). "
            + " ".join((payload_cls.__doc__ or "").split()),
        )
        sub.add_argument("--account-id", required=True, help="the account the fact is about")
        sub.add_argument("--json", help="fields as one JSON object")
        sub.add_argument(
            "--producer",
            default=owner_of(topic),
            help=f"the envelope's producer (default: {owner_of(topic)})",
        )
        sub.add_argument(
            "--bootstrap", help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS)"
        )
        sub.add_argument("--topic-prefix", help="topic prefix (default: $KAFKA_TOPIC_PREFIX)")
        fields = sub.add_argument_group("fields of the contract")
        for field, info in payload_cls.model_fields.items():
            hint = " (JSON)" if _takes_json(info.annotation) else ""
            if _is_timestamp(info.annotation):
                hint = " (ISO 8601 with a time zone; default: now)"
            fields.add_argument(
                option_of(field),
                dest=f"field:{field}",
                metavar=field.upper(),
                help=f"{info.description}{hint}",
            )
    return root


def run(argv: Sequence[str] | None = None, *, now: datetime | None = None) -> int:
    facts = external_facts()
    args, unknown = parser(facts).parse_known_args(argv)
    if args.list or not args.fact:
        for name, payload_cls in facts.items():
            print(f"{name} v{payload_cls.event_version} on {payload_cls.topic}")
        return 0 if args.list else BAD_INPUT
    payload_cls = facts[args.fact]
    if unknown:
        known = ", ".join(option_of(f) for f in payload_cls.model_fields)
        problems = [
            f"{token}: not an option of {args.fact} (its fields: {known})"
            for token in unknown
            if token.startswith("-")
        ]
        refused = BadInput(args.fact, problems or [f"unexpected arguments: {' '.join(unknown)}"])
        print(f"{PROG}: {refused}", file=sys.stderr)
        return BAD_INPUT
    options = {
        key.removeprefix("field:"): value
        for key, value in vars(args).items()
        if key.startswith("field:")
    }
    try:
        envelope = build(
            payload_cls,
            fields_from(payload_cls, options, args.json),
            account_id=args.account_id,
            producer=args.producer,
            now=now or datetime.now(UTC),
        )
    except BadInput as refused:
        print(f"{PROG}: {refused}", file=sys.stderr)
        return BAD_INPUT

    overrides: dict[str, Any] = {"service_name": args.producer}
    if args.bootstrap:
        overrides["kafka_bootstrap_servers"] = args.bootstrap
    if args.topic_prefix is not None:
        overrides["kafka_topic_prefix"] = args.topic_prefix
    settings = ServiceSettings(**overrides)
    refusals = settings.refusals()
    if refusals:
        print(f"{PROG}: " + "; ".join(refusals), file=sys.stderr)
        return BAD_INPUT
    topic = topic_name(payload_cls.topic, settings.kafka_topic_prefix)
    try:
        asyncio.run(publish(settings, payload_cls.topic, envelope))
    except (KafkaError, OSError) as exc:
        print(
            f"{PROG}: not sent to {topic} at {settings.kafka_bootstrap_servers}: "
            f"{type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return NOT_SENT
    print(envelope.event_id)
    print(
        f"{payload_cls.event_type} v{payload_cls.event_version} for {envelope.account_id} "
        f"published on {topic} by {envelope.producer}",
        file=sys.stderr,
    )
    return 0


def main() -> None:
    # stdout is the event id alone (scripts read it); warnings go to stderr, info nowhere.
    configure_logging(PROG, level="WARNING")
    sys.exit(run())
