"""Entry point of the notifier service: `notifier-service`."""

from __future__ import annotations

from pathlib import Path

from services.notifier.adapters.mailer import SmtpMailer
from services.notifier.adapters.sms import HttpSmsProvider
from services.notifier.adapters.tables import timers
from services.notifier.entrypoints.courier_pool import CourierPool
from services.notifier.entrypoints.http import router
from services.notifier.entrypoints.subscribers import subscribe
from services.notifier.entrypoints.timer_worker import timer_worker
from services.notifier.service_layer.courier import Courier
from services.notifier.settings import NotifierSettings
from shared.events import Topic
from shared.runtime import Runtime
from shared.service import ServiceSpec, run_service
from shared.timers import finished_timers

DESCRIPTION = "Routes and delivers SMS and email for the events people must hear about."


def spec(settings: NotifierSettings | None = None) -> ServiceSpec:
    s = settings or NotifierSettings()

    def courier(runtime: Runtime) -> CourierPool:
        return CourierPool(
            Courier(
                unit_of_work=runtime.uow,
                clock=runtime.clock,
                settings=s,
                mailer=SmtpMailer(s),
                sms=HttpSmsProvider(s),
            ),
            s,
        )

    return ServiceSpec(
        settings=s,
        migrations=Path(__file__).parent / "migrations",
        description=DESCRIPTION,
        routers=[router],
        publishes=[Topic.NOTIFIER_EVENTS],
        subscribe=subscribe,
        workers=[courier, timer_worker],
        expiring=[finished_timers(timers, s.timer_retention_s)],
    )


def run() -> None:
    run_service(spec)
