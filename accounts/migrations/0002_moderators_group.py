"""Create the Moderators group: staff who review people and content in the admin.

Later apps add their own models' permissions to the group in their own data migrations, through
:func:`accounts.moderation.grant_moderator_permissions`.
"""

from django.db import migrations

from accounts.moderation import grant_moderator_permissions

PERMISSIONS = {
    "accounts": {
        "user": ("view", "change"),
        "follow": ("view",),
        "followrequest": ("view",),
        "block": ("view",),
        "notification": ("view",),
        "kolcertification": ("view", "change"),
        "brand": ("view", "change"),
    }
}


def forwards(apps, schema_editor):
    grant_moderator_permissions(apps, PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
