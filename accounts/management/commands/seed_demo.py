"""``manage.py seed_demo``: create or refresh the demo world. Safe to run any number of times."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from accounts import demo
from notes import demo as notes_demo
from shop import demo as shop_demo
from shop import demo_orders as shop_demo_orders

# Each app adds its steps after the ones it builds on (notes after people, ads after the shop...).
STEPS: list[tuple[str, demo.Step]] = [
    *demo.STEPS,
    *notes_demo.STEPS,
    *shop_demo.STEPS,
    *shop_demo_orders.STEPS,
]


class _BarOutput:
    """Lets tqdm draw on the command's stdout, whose ``write`` would otherwise add a newline."""

    def __init__(self, stdout):
        self._stdout = stdout

    def write(self, text: str) -> None:
        self._stdout.write(text, ending="")

    def flush(self) -> None:
        self._stdout.flush()

    @property
    def encoding(self) -> str:  # tqdm draws unicode blocks only when it knows the encoding
        return getattr(self._stdout, "encoding", None) or "utf-8"


class Command(BaseCommand):
    help = (
        "Create or refresh the demo world: demo logins (password zhongcao-demo), people with "
        "avatars, a brand, a KOL application and a follow graph. Deterministic given --seed; "
        "running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--users",
            type=int,
            default=demo.DEFAULT_USERS,
            help=f"Ordinary people besides the demo logins (default {demo.DEFAULT_USERS}).",
        )
        parser.add_argument(
            "--notes",
            type=int,
            default=5,
            help=(
                f"Notes per person, 1-2 generated photos each (default 5, max {len(notes_demo.TEMPLATES)}); "
                "0 also leaves out the shop's stores and products."
            ),
        )

    def handle(self, *args, seed: int, users: int, notes: int, verbosity: int, **options):
        if users < 0:
            raise CommandError("--users must be 0 or more.")
        if not 0 <= notes <= len(notes_demo.TEMPLATES):
            raise CommandError(f"--notes must be between 0 and {len(notes_demo.TEMPLATES)}.")
        show_bars = verbosity > 0 and self.stdout.isatty()
        ctx = demo.DemoContext(
            seed=seed, user_count=users, notes_per_person=notes, progress=self._bar if show_bars else None
        )
        started = time.monotonic()
        # Eager Celery logs one "Task ... succeeded" line per notification; they would bury the summary.
        trace_logger = logging.getLogger("celery.app.trace")
        level = trace_logger.level
        trace_logger.setLevel(logging.WARNING)
        try:
            for _name, step in STEPS:
                # One transaction per step: notifications and file clean-ups run as each step commits.
                with transaction.atomic():
                    step(ctx)
        finally:
            trace_logger.setLevel(level)
        if verbosity > 0:
            self._print_summary(ctx, seed=seed, elapsed=time.monotonic() - started)

    def _bar(self, items: Iterable, desc: str) -> Iterable:
        return tqdm(items, desc=f"{desc:>8}", file=_BarOutput(self.stdout), unit="", leave=True)

    def _print_summary(self, ctx: demo.DemoContext, *, seed: int, elapsed: float) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS(f"Demo world ready (seed {seed}, {elapsed:.1f}s):"))
        for line in ctx.summary:
            out.write(f"  - {line}")
        out.write("")
        out.write(self.style.MIGRATE_HEADING(f"Demo logins (password: {demo.DEMO_PASSWORD})"))
        width = max(len(spec.username) for spec in demo.LOGINS)
        for spec in demo.LOGINS:
            out.write(f"  {spec.username:<{width}}  {spec.role}")
        out.write(
            "  log in: POST /_allauth/app/v1/auth/login "
            '{"username": "alice", "password": "' + demo.DEMO_PASSWORD + '"}'
        )
