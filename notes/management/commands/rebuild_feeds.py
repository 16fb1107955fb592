"""``manage.py rebuild_feeds``: rebuild following timelines, discovery scores and reader profiles."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import User
from notes.feeds import fanout, maintenance


class Command(BaseCommand):
    help = (
        "Rebuild the feeds from notes, follows and engagement: every following timeline (and author "
        "outbox) and every discovery score, place and reader profile. Safe while the app runs: each "
        "timeline is swapped whole. --user rebuilds the timelines of the named people only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--timelines", action="store_true", help="Only the following timelines.")
        parser.add_argument("--scores", action="store_true", help="Only scores, places and reader profiles.")
        parser.add_argument(
            "--user", action="append", default=[], help="Only this person's timeline (repeatable)."
        )

    def handle(self, *args, timelines: bool, scores: bool, user: list[str], verbosity: int, **options):
        show_bars = verbosity > 0 and self.stdout.isatty()

        def progress(items, desc):
            return tqdm(items, desc=f"{desc:>10}", leave=False, unit="")

        if user:
            ids = list(User.objects.filter(username__in=user).values_list("pk", flat=True))
            if len(ids) != len(set(user)):
                raise CommandError("Unknown username.")
            done = {"timelines": fanout.timelines_rebuild(user_ids=ids)}
        else:
            both = not (timelines or scores)
            done = maintenance.feeds_rebuild(
                timelines=timelines or both, scores=scores or both, progress=progress if show_bars else None
            )
        if verbosity > 0:
            self.stdout.write(
                self.style.SUCCESS("Rebuilt " + ", ".join(f"{n} {what}" for what, n in done.items()))
            )
