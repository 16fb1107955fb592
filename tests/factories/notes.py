"""Factories for the notes app. Rows are written directly: counters are NOT updated (use the
services for that), except where a factory says so."""

import factory
from django.utils import timezone

from notes.choices import MediaKind, MediaStatus, NoteStatus
from notes.models import Board, Comment, Media, Note, NoteMedia
from notes.services.notes import note_create
from tests.factories.accounts import UserFactory


class MediaFactory(factory.django.DjangoModelFactory):
    """A processed image. The file names are placeholders: no bytes are stored."""

    class Meta:
        model = Media

    owner = factory.SubFactory(UserFactory)
    kind = MediaKind.IMAGE
    status = MediaStatus.READY
    original = factory.Sequence(lambda n: f"uploads/test/original-{n}.jpg")
    mime_type = "image/jpeg"
    size_bytes = 12345
    width = 1080
    height = 1440
    dominant_color = "#c0ffee"
    variants = factory.LazyAttribute(
        lambda o: {
            name: f"variants/test/{o.original.rsplit('/', 1)[-1]}-{name}.webp"
            for name in ("thumb", "feed", "full")
        }
    )
    processed_at = factory.LazyFunction(timezone.now)


class NoteFactory(factory.django.DjangoModelFactory):
    """A published public note with one ready image as its cover."""

    class Meta:
        model = Note
        skip_postgeneration_save = True

    author = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Note {n}")
    body = "Some words."
    status = NoteStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)
    cover = factory.SubFactory(MediaFactory, owner=factory.SelfAttribute("..author"))

    @factory.post_generation
    def _media(obj, create, extracted, **kwargs):
        if create and obj.cover_id:
            NoteMedia.objects.create(note=obj, media=obj.cover, position=0)


class BoardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Board

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Board {n}")


class CommentFactory(factory.django.DjangoModelFactory):
    """A raw root comment: ``note.comment_count`` is NOT updated (use ``comment_create``)."""

    class Meta:
        model = Comment

    note = factory.SubFactory(NoteFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"Comment {n}")


def live_note(*, author=None, **fields) -> Note:
    """A public note published through ``note_create``, so its author's counters are right."""
    author = author or UserFactory()
    media = MediaFactory(owner=author)
    fields = {"title": "Hello", "body": "#topic", **fields}
    return note_create(author=author, media_ids=[media.pk], **fields)
