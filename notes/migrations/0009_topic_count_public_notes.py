from django.db import migrations
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def count_public_notes(apps, schema_editor):
    """``Topic.note_count`` now counts the live notes anyone may read (``notes.services.notes``):
    recount it, so that a topic only private or followers-only notes use stops being listed."""
    Topic = apps.get_model("notes", "Topic")
    NoteTopic = apps.get_model("notes", "NoteTopic")
    counted = (
        NoteTopic.objects.filter(
            topic=OuterRef("pk"),
            note__status="published",
            note__deleted_at__isnull=True,
            note__visibility="public",
        )
        .order_by()
        .values("topic")
        .annotate(n=Count("*"))
        .values("n")
    )
    Topic.objects.update(note_count=Coalesce(Subquery(counted), Value(0), output_field=IntegerField()))


class Migration(migrations.Migration):
    dependencies = [
        ("notes", "0008_search_document_published"),
    ]

    operations = [
        migrations.RunPython(count_public_notes, migrations.RunPython.noop),
    ]
