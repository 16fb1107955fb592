from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "notes"
    verbose_name = "Notes"

    def ready(self):
        # Feeds first: receivers run in the order they connect, so a new note's fan-out is queued
        # before its search indexing and trending counts (followers are waiting for it).
        from notes.feeds import receivers as feed_receivers

        feed_receivers.connect()
        import notes.search.receivers  # noqa: F401  (connects the search and trending receivers)
