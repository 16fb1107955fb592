from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def count_tagging_notes(apps, schema_editor):
    """Existing products: the notes that tag them, counted from the tag rows."""
    Product = apps.get_model("shop", "Product")
    NoteProduct = apps.get_model("notes", "NoteProduct")
    tags = NoteProduct.objects.filter(product=OuterRef("pk")).order_by().values("product")
    Product.objects.update(note_count=Coalesce(Subquery(tags.annotate(n=Count("*")).values("n")), Value(0)))


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0004_payment_refund_pending"),
        ("notes", "0008_search_document_published"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="note_count",
            field=models.PositiveIntegerField(
                default=0, help_text="Notes tagging it (its planted-by count, whatever their state)."
            ),
        ),
        migrations.RunPython(count_tagging_notes, migrations.RunPython.noop),
    ]
