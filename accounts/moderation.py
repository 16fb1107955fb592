"""The Moderators group and its permissions."""

MODERATORS_GROUP = "Moderators"


def grant_moderator_permissions(apps, permissions: dict[str, dict[str, tuple[str, ...]]]) -> None:
    """Give the Moderators group ``{app_label: {model: (action, ...)}}`` (used by data migrations).

    Permissions are normally created after migrations run; we create them now so a fresh database
    has a complete group right after ``migrate``.
    """
    from django.contrib.auth.management import create_permissions

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    for app_label, models in permissions.items():
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True  # the migration state's stub lacks it; Django's own recipe
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
        for model, actions in models.items():
            codenames = [f"{action}_{model}" for action in actions]
            found = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            if found.count() != len(codenames):
                raise RuntimeError(f"Missing permissions for {app_label}.{model}: {codenames}")
            group.permissions.add(*found)
