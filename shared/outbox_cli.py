"""`account-center-outbox`: inspect, replay or drop a service's parked outbox rows.

account-center-outbox identity list              # rows the relay moved aside, with the reason
account-center-outbox identity replay 42 43      # back to the outbox: the relay publishes them
account-center-outbox identity replay --all
account-center-outbox identity drop 42           # delete for good

It reads POSTGRES_DSN and DATABASE_PREFIX like the service (database <prefix><service>).
Replay after fixing the cause (e.g. raise KAFKA_MAX_MESSAGE_BYTES and the broker's
message.max.bytes): a row that still cannot be sent is parked again.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from shared.db import make_engine
from shared.outbox import ParkedRow, drop_parked, list_parked, replay_parked
from shared.settings import ServiceSettings


def render(row: ParkedRow) -> str:
    return (
        f"#{row.id} {row.topic} key={row.key} type={row.event_type or '-'} "
        f"event_id={row.event_id} size={row.size} created={row.created_at.isoformat()} "
        f"parked={row.parked_at.isoformat()} reason={row.reason} error={row.error}"
    )


async def run(args: argparse.Namespace) -> int:
    settings = ServiceSettings(service_name=args.service)
    engine = make_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            if args.command == "list":
                rows = await list_parked(conn)
                for row in rows:
                    print(render(row))
                print(f"{len(rows)} parked row(s) in {settings.database_name}", file=sys.stderr)
            elif args.command == "replay":
                if not args.all and not args.ids:
                    print("name the rows to replay, or --all", file=sys.stderr)
                    return 2
                moved = await replay_parked(conn, None if args.all else args.ids)
                print(f"{moved} row(s) back in the outbox of {settings.database_name}")
            else:
                dropped = await drop_parked(conn, args.ids)
                print(f"{dropped} parked row(s) deleted from {settings.database_name}")
    finally:
        await engine.dispose()
    return 0


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join((__doc__ or "").splitlines()[2:]),
    )
    parser.add_argument("service", help="identity, verification, cancellation or notifier")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="print the parked rows")
    replay = commands.add_parser("replay", help="move parked rows back to the outbox")
    replay.add_argument("ids", nargs="*", type=int)
    replay.add_argument("--all", action="store_true", help="every parked row")
    drop = commands.add_parser("drop", help="delete parked rows")
    drop.add_argument("ids", nargs="+", type=int)
    return parser


def main(argv: list[str] | None = None) -> None:
    sys.exit(asyncio.run(run(parser().parse_args(argv))))
