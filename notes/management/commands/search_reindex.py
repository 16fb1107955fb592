"""``manage.py search_reindex [--kind notes|users|products]``: rebuild search documents."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from notes.search import indexing


class _Raw:
    """A management command's output stream without the newline it adds to every write (tqdm
    redraws its bar in place with carriage returns)."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")

    def flush(self) -> None:
        self.wrapper.flush()


class Command(BaseCommand):
    help = (
        "Rebuild the search documents of notes, users and products (all kinds unless --kind is "
        "given). Safe while the site runs: documents are upserted in batches, then the ones no "
        "longer backed by a live note (or any user/product) are dropped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=sorted(indexing.KINDS), action="append", dest="kinds")
        parser.add_argument("--batch-size", type=int, default=indexing.BATCH_SIZE)
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (for logs).")

    def handle(self, *args, kinds=None, batch_size=indexing.BATCH_SIZE, no_progress=False, **options):
        for kind in kinds or list(indexing.KINDS):
            total = indexing.reindex_total(kind)
            with tqdm(
                total=total, desc=kind, unit=kind[:-1], file=_Raw(self.stderr), disable=no_progress or None
            ) as bar:
                written = indexing.reindex(kind, batch_size=batch_size, progress=bar.update)
            self.stdout.write(f"{kind}: {written} documents written.")
