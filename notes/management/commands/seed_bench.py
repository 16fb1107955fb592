"""``manage.py seed_bench --scale S``: the benchmark world of BENCH.md (see ``bench.world``)."""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from bench import world


class Command(BaseCommand):
    help = (
        "Build the deterministic benchmark world (users, power-law follows, notes with real processed "
        "media, likes, collects into boards, comments, topics, products and SKUs, orders with their "
        "lines, events and payments) in bulk, with exact "
        "counters. Reuses the world already there when it is the same scale, seed and schema. Meant "
        "for a dedicated database: it empties the tables it fills."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", choices=list(world.SCALES), default="S", help="World size (default S)."
        )
        parser.add_argument("--seed", type=int, default=world.DEFAULT_SEED, help="Random seed (default 42).")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Rebuild even when the same world is there; empty a database that has other data.",
        )

    def handle(self, *args, scale: str, seed: int, force: bool, verbosity: int, **options):
        show_bars = verbosity > 0 and self.stderr.isatty()

        def progress(items, desc, total=None):
            return tqdm(
                items, desc=f"  {desc}", total=total, leave=False, unit=" rows", file=self.stderr._out
            )

        def log(line: str) -> None:
            if verbosity > 0:
                self.stdout.write(line)
                self.stdout.flush()

        # Eager Celery logs a line per task; the pool's processing would bury the step timings.
        trace_logger = logging.getLogger("celery.app.trace")
        level = trace_logger.level
        trace_logger.setLevel(logging.WARNING)
        try:
            world.build(
                scale=world.SCALES[scale],
                seed=seed,
                force=force,
                log=log,
                progress=progress if show_bars else None,
            )
        except world.WorldExists as exc:
            raise CommandError(str(exc)) from exc
        finally:
            trace_logger.setLevel(level)
