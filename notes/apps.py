from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "notes"
    verbose_name = "Notes"

    def ready(self):
        import notes.search.receivers  # noqa: F401  (connects the search and trending receivers)
        from notes.feeds import receivers as feed_receivers

        feed_receivers.connect()
