"""Moderators review notes, comments, topics, boards and media in the admin."""

from django.db import migrations

from accounts.moderation import grant_moderator_permissions

PERMISSIONS = {
    "notes": {
        "note": ("view", "change"),
        "comment": ("view", "change"),
        "topic": ("view", "change"),
        "board": ("view", "change"),
        "media": ("view", "change"),
        "noterevision": ("view",),
        "notelike": ("view",),
        "notecollect": ("view",),
        "noteshare": ("view",),
    }
}


def forwards(apps, schema_editor):
    grant_moderator_permissions(apps, PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("notes", "0001_initial"),
        ("accounts", "0002_moderators_group"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
