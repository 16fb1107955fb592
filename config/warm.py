"""What a long-lived process (a web server's, a Celery worker's) does once it has loaded the app."""

from __future__ import annotations

import gc


def warm_process(*, serving: bool = True) -> None:
    """Load now what the process would otherwise load on first use, then move everything loaded by
    now (modules, settings, URL patterns, the dictionary: 250k+ objects in a web server) out of the
    collector's reach, so full collections stop walking what lives as long as the process.

    - The search segmenter's dictionary: every thread of a fresh process would wait for it in its
      first search or index task, about a second.
    - The URL patterns, when ``serving`` (not in a Celery worker, which serves no requests): Django
      imports the URLconf, and with it every view, serializer and the schema tooling (about 390
      modules), on a process's first request. Measured at M: that first request took 210-290 ms,
      and what it loaded stayed in the oldest generation: 40-50k objects that each full collection
      walked (15-30 ms pauses under load, a few per second, in a 1-connection run of the following
      feed).

    Measured at M (the dictionary, before the URL patterns were added): following feed, 3,000
    pages in process: longest collection pause 87 -> 9 ms, CPU per page 1.20 -> 1.15 ms; a
    10k-follower fan-out in a worker-like process: a full collection took 58 ms in the middle of one
    fan-out of 20, 0.4 ms once frozen."""
    from notes.search.segmentation import warm_up

    warm_up()
    if serving:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 (imports the URLconf and every view it names)
    gc.collect()
    gc.freeze()
