"""The benchmark harness of BENCH.md (``make bench``, ``python -m bench``) and its world generator.

- ``bench.world``: the deterministic world at scale XS/S/M/L, loaded in bulk (``seed_bench``).
- ``bench.registry``: what is measured, one row per endpoint with its floor and gate.
- ``bench.floors``: the floors (F_http, F_feed, F_fanout, F_hotrow, F_img, F_insert, data floors).
- ``bench.gates``: pure functions from measurements to ratios, PASS/FAIL, the table and its JSON.
- ``bench.stack``: PostgreSQL, Redis, the app server and the Celery worker as processes.
- ``bench.load``: the load generator (wrk with a generated Lua script).
- ``bench.run``: the whole run, as ``python -m bench`` drives it.
"""
