"""Signals other parts of the app (feeds, search) hang their follow-up work on.

Both are sent after the transaction that caused them commits, so receivers see committed rows and
typically just enqueue a Celery task.
"""

from django.dispatch import Signal

#: A note went live (published, visible) or stopped being live (deleted, hidden, back to draft).
#: Keyword arguments: ``note_id``, ``author_id``, ``live`` (bool).
note_live_changed = Signal()

#: A live note was edited (text, topics, media, place, product links...). Keyword: ``note_id``.
note_edited = Signal()
