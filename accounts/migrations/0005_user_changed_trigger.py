"""PostgreSQL tells every web process when a user changes (``accounts.usercache``): a trigger
notifies channel ``zc_user`` with the user's id after an ``UPDATE`` that sets any column but the
counters, and after a ``DELETE``. Counter-only updates (every follow, note and like) do not call
it at all: a column-list trigger fires only when the statement sets one of its columns.

A column added to ``User`` later belongs in this list (a new migration recreates the trigger);
``tests/accounts/test_usercache.py`` fails until it is."""

from django.db import migrations

WATCHED = (
    "password",
    "last_login",
    "is_superuser",
    "username",
    "first_name",
    "last_name",
    "email",
    "is_staff",
    "is_active",
    "date_joined",
    "nickname",
    "avatar",
    "bio",
    "gender",
    "birthday",
    "city",
    "interests",
    "is_private",
    "hide_collects",
    "comment_permission",
    "mention_permission",
    "is_kol_certified",
)

CREATE = f"""
CREATE FUNCTION accounts_user_notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('zc_user', OLD.id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER accounts_user_changed
    AFTER UPDATE OF {", ".join(WATCHED)} OR DELETE ON accounts_user
    FOR EACH ROW EXECUTE FUNCTION accounts_user_notify_changed();
"""

DROP = """
DROP TRIGGER IF EXISTS accounts_user_changed ON accounts_user;
DROP FUNCTION IF EXISTS accounts_user_notify_changed();
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_note_counts_by_visibility")]

    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP))]
