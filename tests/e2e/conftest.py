"""Fixtures of the end-to-end tests: the mail and SMS sinks the notifier process sends to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit.broker import free_port
from devkit.mailsink import MailSink
from devkit.smssink import SmsSink


@pytest.fixture
def sms() -> Iterator[SmsSink]:
    texts = SmsSink().start()
    yield texts
    texts.stop()


@pytest.fixture
def sink() -> Iterator[MailSink]:
    mail = MailSink(free_port())
    mail.start()
    yield mail
    mail.stop()
