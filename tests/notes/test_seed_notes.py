"""seed_demo's notes steps: real photos through the pipeline, live notes, exact counters, reruns."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Q
from PIL import Image

from accounts.models import User
from notes.choices import MediaStatus, NoteStatus
from notes.models import Board, Comment, Media, Note, NoteCollect, NoteLike, Topic

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--users", "4", "--notes", "2", *args, stdout=out)
    return out.getvalue()


def notes_world() -> dict:
    return {
        "notes": sorted(Note.objects.values_list("author__username", "title", "status", "category")),
        "media": Media.objects.count(),
        "likes": sorted(NoteLike.objects.values_list("user__username", "note__title")),
        "collects": sorted(NoteCollect.objects.values_list("user__username", "note__title", "board__name")),
        "comments": sorted(Comment.objects.values_list("author__username", "note__title", "body")),
    }


def test_seeded_notes_are_live_with_processed_photos_and_exact_counters():
    seed()
    authors = User.objects.filter(is_staff=False)
    assert Note.objects.count() == authors.count() * 2
    assert set(Note.objects.values_list("status", flat=True)) == {NoteStatus.PUBLISHED}
    assert set(Media.objects.values_list("status", flat=True)) == {MediaStatus.READY}
    media = Media.objects.first()
    with media.original.storage.open(media.variants["thumb"]) as handle:
        image = Image.open(handle)
        assert (image.format, max(image.size)) == ("WEBP", 240)
    for user in authors.annotate(live=Count("notes", filter=Q(notes__status=NoteStatus.PUBLISHED))):
        assert user.note_count == user.live
    notes = Note.objects.annotate(
        n_likes=Count("likes", distinct=True), n_collects=Count("collects", distinct=True)
    )
    for note in notes:
        assert (note.like_count, note.collect_count) == (note.n_likes, note.n_collects)
    for board in Board.objects.annotate(n=Count("collects")):
        assert board.note_count == board.n
    assert NoteLike.objects.exists() and Topic.objects.filter(note_count__gt=0).exists()
    assert Note.objects.exclude(published_at=None).values("published_at").distinct().count() > 1


def test_running_twice_leaves_the_same_notes_world():
    seed()
    before = notes_world()
    output = seed()
    assert notes_world() == before
    assert "0 new notes" in output
