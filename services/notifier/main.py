"""Entry point of the notifier service: `notifier-service`."""

from __future__ import annotations

from pathlib import Path

from services.notifier.adapters.mailer import SmtpMailer
from services.notifier.adapters.sms import HttpSmsProvider
from services.notifier.entrypoints.courier_pool import CourierPool
from services.notifier.entrypoints.erasure_worker import ErasureWorker
from services.notifier.entrypoints.http import router
from services.notifier.entrypoints.subscribers import subscribe
from services.notifier.service_layer.courier import Courier
from services.notifier.service_layer.erasure import ErasureRunner
from services.notifier.settings import NotifierSettings
from shared.events import Topic
from shared.runtime import Runtime
from shared.service import ServiceSpec, run_service

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

    def erasures(runtime: Runtime) -> ErasureWorker:
        runner = ErasureRunner(unit_of_work=runtime.uow, clock=runtime.clock, settings=s)
        return ErasureWorker(runner, s)

    return ServiceSpec(
        settings=s,
        migrations=Path(__file__).parent / "migrations",
        description=DESCRIPTION,
        routers=[router],
        publishes=[Topic.NOTIFIER_EVENTS],
        subscribe=subscribe,
        workers=[courier, erasures],
    )


def run() -> None:
    run_service(spec)
