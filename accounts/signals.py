"""Signals about relationships, sent after the transaction that changed them commits.

Other apps (the notes feeds) react to them without the accounts app knowing about them.
"""

from django.dispatch import Signal

#: ``follower_id`` started (``following=True``) or stopped following ``followee_id``.
follow_changed = Signal()

#: ``blocker_id`` blocked ``blocked_id`` (follows both ways are already gone).
block_created = Signal()

#: ``user_id`` changed the profile ``fields`` (nickname, bio...) through ``user_update_profile``,
#: or a moderator changed ``is_active`` (``user_set_active``): both write with ``update()`` and so
#: send no ``post_save``.
profile_changed = Signal()
