"""No index repeats another: a foreign key whose column leads one of its model's indexes or unique
constraints has no index of its own (``db_index=False``). The longer index serves every lookup by
that column (joins, cascades, filters), and each extra index costs every insert: a like wrote five
index entries where three do the same work."""

from __future__ import annotations

from django.apps import apps
from django.db import connection, models

APPS = ("accounts", "notes", "shop")


def _leading_columns(model) -> dict[str, str]:
    """Column -> the name of an index or unique constraint of two columns or more, without a
    condition, that it leads."""
    declared = [
        (index.name, [name.lstrip("-") for name in index.fields])
        for index in model._meta.indexes
        if index.condition is None
    ] + [
        (constraint.name, list(constraint.fields))
        for constraint in model._meta.constraints
        if isinstance(constraint, models.UniqueConstraint) and constraint.condition is None
    ]
    leads = {}
    for name, fields in declared:
        if len(fields) > 1:
            leads.setdefault(model._meta.get_field(fields[0]).column, name)
    return leads


def test_no_foreign_key_has_an_index_that_a_longer_one_leads_with():
    repeated = [
        f"{model._meta.label}.{field.name} (led by {leads[field.column]})"
        for model in apps.get_models()
        if model._meta.app_label in APPS
        for leads in [_leading_columns(model)]
        for field in model._meta.local_fields
        if isinstance(field, models.ForeignKey)
        and field.db_index
        and not field.unique
        and field.column in leads
    ]
    assert repeated == []


def test_the_database_has_no_single_column_index_that_a_longer_one_leads_with(db):
    """What the migrations built, read back from the database (both backends)."""
    repeated = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model._meta.app_label not in APPS:
                continue
            table = model._meta.db_table
            indexes = connection.introspection.get_constraints(cursor, table)
            declared = {index.name for index in model._meta.indexes}
            singles = {  # the indexes of db_index=True
                name: info["columns"][0]
                for name, info in indexes.items()
                if info["index"] and not info["unique"] and len(info["columns"]) == 1 and name not in declared
            }
            # Not every backend reports an index's condition: only what the model declares counts.
            leads = _leading_columns(model)
            repeated += [f"{table}.{name}" for name, column in singles.items() if column in leads]
    assert repeated == []


def test_every_declared_index_and_constraint_is_in_the_database(db):
    """A migration that drops an index by its column drops what it should not: Django's own
    ``AlterField`` to ``db_index=False`` drops the partial unique index ``board_one_default`` too."""
    missing = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model._meta.app_label not in APPS:
                continue
            present = connection.introspection.get_constraints(cursor, model._meta.db_table)
            declared = [index.name for index in model._meta.indexes] + [
                c.name for c in model._meta.constraints
            ]
            missing += [f"{model._meta.db_table}.{name}" for name in declared if name not in present]
    assert missing == []
