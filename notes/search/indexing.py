"""Writing search documents: one function per kind, each taking ids and safe to run again.

A document mirrors its object's text as of the run; whether the object may be *shown* is decided at
query time (visibility, blocks, ``on_sale``), so only text changes need a re-index. Notes are the one
exception: only live notes have a document, so going live or not also re-indexes, and a note's
document also holds its publication date (the newest-first search reads documents in that order;
it is set once, when the note goes live).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import Model, Prefetch, QuerySet
from django.utils import timezone

from accounts.models import User
from notes.models import Note, NoteSearchDocument, ProductSearchDocument, Topic, UserSearchDocument
from notes.search.backends import get_backend, gin_index_sql
from notes.search.segmentation import VERSION, index_tokens
from shop.models import Product

BATCH_SIZE = 500


def _document(
    model: type[Model], key: str, pk: int, head: list[str], body: list[str], now, **columns
) -> Model:
    return model(
        **{f"{key}_id": pk}, **get_backend().document(head, body), version=VERSION, indexed_at=now, **columns
    )


def _write(model: type[Model], key: str, documents: list[Model], stale_ids: Iterable[int] = ()) -> None:
    stale_ids = list(stale_ids)
    with transaction.atomic():
        if stale_ids:
            model.objects.filter(**{f"{key}_id__in": stale_ids}).delete()
        if documents:
            model.objects.bulk_create(
                documents,
                update_conflicts=True,
                unique_fields=[key],
                update_fields=[f.name for f in model._meta.concrete_fields if not f.primary_key],
            )


def note_document_text(note: Note) -> tuple[list[str], list[str]]:
    """(head, body) tokens of a note: title, topics and place make the head; the body the body."""
    topics = " ".join(topic.name for topic in note.topics.all())
    return index_tokens(note.title, topics, note.place_name, note.place_city), index_tokens(note.body)


def index_notes(note_ids: Iterable[int]) -> int:
    """(Re)write the documents of these notes: live ones get one, the others lose theirs.
    Returns how many documents were written."""
    note_ids = list(note_ids)
    live = (
        Note.objects.live()
        .filter(pk__in=note_ids)
        .only("id", "title", "body", "place_name", "place_city", "published_at")
        .prefetch_related(Prefetch("topics", queryset=Topic.objects.only("id", "name")))
    )
    now = timezone.now()
    documents = [
        _document(NoteSearchDocument, "note", n.pk, *note_document_text(n), now, published_at=n.published_at)
        for n in live
    ]
    written = {d.note_id for d in documents}
    _write(NoteSearchDocument, "note", documents, stale_ids=[pk for pk in note_ids if pk not in written])
    return len(documents)


def index_users(user_ids: Iterable[int]) -> int:
    """(Re)write users' documents: username and nickname (head), bio (body). Inactive users keep
    theirs: the query hides them, and reactivation needs no re-index."""
    now = timezone.now()
    users = User.objects.filter(pk__in=list(user_ids)).only("id", "username", "nickname", "bio")
    documents = [
        _document(
            UserSearchDocument, "user", u.pk, index_tokens(u.username, u.nickname), index_tokens(u.bio), now
        )
        for u in users
    ]
    _write(UserSearchDocument, "user", documents)
    return len(documents)


def index_products(product_ids: Iterable[int]) -> int:
    """(Re)write products' documents: title and store name (head), description (body). Products
    off sale keep theirs: ``on_sale()`` hides them at query time."""
    now = timezone.now()
    products = (
        Product.objects.filter(pk__in=list(product_ids))
        .select_related("store")
        .only("id", "title", "description", "store__name")
    )
    documents = [
        _document(
            ProductSearchDocument,
            "product",
            p.pk,
            index_tokens(p.title, p.store.name),
            index_tokens(p.description),
            now,
        )
        for p in products
    ]
    _write(ProductSearchDocument, "product", documents)
    return len(documents)


def _id_batches(qs: QuerySet, size: int) -> Iterator[list[int]]:
    """Primary keys in ascending batches (keyset, so a batch costs the same at any depth)."""
    last = 0
    while True:
        batch = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not batch:
            return
        yield batch
        last = batch[-1]


# kind -> (queryset of everything to index, indexer, document model)
KINDS: dict[str, tuple[Callable[[], QuerySet], Callable[[Iterable[int]], int], type[Model]]] = {
    "notes": (lambda: Note.objects.live(), index_notes, NoteSearchDocument),
    "users": (lambda: User.objects.all(), index_users, UserSearchDocument),
    "products": (lambda: Product.objects.all(), index_products, ProductSearchDocument),
}


@contextmanager
def _bulk_load(model: type[Model]) -> Iterator[None]:
    """Filling an *empty* document table on PostgreSQL: without its GIN index, built once at the end
    (many times faster than updating it document by document). A table in use keeps its index, and
    so does one filled inside a transaction (pending foreign-key checks forbid the CREATE INDEX, and a
    dropped index would lock the table until the commit)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block or model.objects.exists():
        yield
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'DROP INDEX IF EXISTS "{table}_vector_gin"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(gin_index_sql(table))


def reindex(kind: str, *, batch_size: int = BATCH_SIZE, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild every document of ``kind``: index all objects in batches, then drop documents whose
    object no longer qualifies (a note that stopped being live while nobody was listening).
    ``progress(n)`` is called after each batch with the number of objects it covered."""
    source, indexer, model = KINDS[kind]
    started = timezone.now()
    written = 0
    with _bulk_load(model):
        for batch in _id_batches(source(), batch_size):
            written += indexer(batch)
            if progress:
                progress(len(batch))
    # Documents not rewritten by this run belong to objects that no longer qualify (rows written
    # concurrently by the live receivers are newer than ``started`` and stay).
    model.objects.filter(indexed_at__lt=started).delete()
    return written


def reindex_total(kind: str) -> int:
    return KINDS[kind][0]().count()
