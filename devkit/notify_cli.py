"""`account-center-notify`: ask the notifier for a one-time code message, as identity does.

account-center-notify --phone +8618112341234                 # an SMS code, to the SMS sink
account-center-notify --email alice@example.com --language en   # the same by email

It publishes one NotificationRequested (message type `verification_code`) on
notifier.requests, prints the code, and says where the message will show up in `make dev`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets

from aiokafka import AIOKafkaProducer

from shared.events import Channel, NotificationRequested, Topic, encode, headers_of, new_envelope


async def publish(bootstrap: str, topic: str, request: NotificationRequested, account: str) -> str:
    envelope = new_envelope(request, producer="devtools", account_id=account)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, value=encode(envelope), key=account.encode(), headers=headers_of(envelope)
        )
    finally:
        await producer.stop()
    return str(envelope.event_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    to = parser.add_mutually_exclusive_group(required=True)
    to.add_argument("--phone", help="E.164 phone number: an SMS")
    to.add_argument("--email", help="email address: an email")
    parser.add_argument("--account", default="100000000001", help="account the code is for")
    parser.add_argument("--code", default=None, help="the code (default: 6 random digits)")
    parser.add_argument("--minutes", default="5", help="validity shown in the message")
    parser.add_argument("--language", default="zh-CN", help="zh-CN or en")
    parser.add_argument("--message-type", default="verification_code")
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:9092)",
    )
    parser.add_argument(
        "--topic-prefix", default=os.environ.get("KAFKA_TOPIC_PREFIX", ""), help="topic prefix"
    )
    args = parser.parse_args()
    code = args.code or f"{secrets.randbelow(10**6):06d}"
    request = NotificationRequested(
        message_type=args.message_type,
        channel=Channel.SMS if args.phone else Channel.EMAIL,
        destination=args.phone or args.email,
        language=args.language,
        params={"code": code, "minutes": args.minutes},
    )
    topic = f"{args.topic_prefix}{Topic.NOTIFIER_REQUESTS}"
    event_id = asyncio.run(publish(args.bootstrap, topic, request, args.account))
    sink = "the SMS sink (GET /messages)" if args.phone else "the mail sink"
    print(f"requested {args.message_type} {code} to {request.destination} (event {event_id})")
    print(f"published on {topic}; watch {sink}")
