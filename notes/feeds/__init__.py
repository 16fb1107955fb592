"""Feeds: the following timeline, the discovery ranking and the nearby feed.

* :mod:`~notes.feeds.timelines`: timeline storage (Redis sorted sets or database rows), cursors.
* :mod:`~notes.feeds.fanout`: fan-out on write, pull on read, back-fill, unfollow and block, rebuilds.
* :mod:`~notes.feeds.ranking`: the scoring and personalisation formulas (pure, ``now`` passed in).
* :mod:`~notes.feeds.scoring`: features from the database, the incremental scoring job, decay pass,
  reader profiles.
* :mod:`~notes.feeds.rankstore`: where ranks, seen sets and impressions live (Redis or database).
* :mod:`~notes.feeds.geo`: geohash cells and distances for the nearby feed.
* :mod:`~notes.feeds.selectors`: the three feeds' pages; :mod:`~notes.feeds.services`: "not
  interested" and reach limits; :mod:`~notes.feeds.receivers`: signal receivers; :mod:`~notes.feeds.ads`:
  where feed ads slot in.

Nothing here is a source of truth: ``manage.py rebuild_feeds`` rebuilds it all from the rows.
"""
