"""The hook where the ads app slots sponsored items into the discovery feed.

``settings.FEED_AD_SLOTS`` lists the 0-based positions of a page that may carry a sponsored item
(``FEED_AD_SLOTS=3,11``); ``settings.FEED_ADS_PROVIDER`` is the dotted path of a callable::

    def provider(*, viewer, category, slots, page, now) -> list[dict]

given the viewer (maybe anonymous), the channel, the slot positions and the organic page (its
``items`` are :class:`~notes.feeds.selectors.FeedItem`), returning up to ``len(slots)`` items already
serialised like discovery items, with ``"sponsored": true`` (plus whatever the ads app needs to
report impressions and clicks). The n-th item goes to the n-th slot, in front of the organic item
there; slots past the end of the page stay empty. Organic items are never dropped, so cursors are
unaffected. Without a provider (the default until the ads app exists) pages carry no ads.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils.module_loading import import_string


def sponsored_for(*, viewer, category: str | None, page, now: datetime) -> list[tuple[int, dict]]:
    """(position, item) pairs from the ads provider for this page."""
    slots = sorted(settings.FEED_AD_SLOTS)
    if not settings.FEED_ADS_PROVIDER or not slots:
        return []
    provider = import_string(settings.FEED_ADS_PROVIDER)
    items = provider(viewer=viewer, category=category, slots=slots, page=page, now=now) or []
    return list(zip(slots, items, strict=False))


def insert(results: list[dict], sponsored: list[tuple[int, dict]]) -> list[dict]:
    """The serialised organic ``results`` with the sponsored items in their slots."""
    out = list(results)
    for position, item in sorted(sponsored, key=lambda pair: pair[0]):
        if position <= len(out):
            out.insert(position, {**item, "sponsored": True})
    return out
