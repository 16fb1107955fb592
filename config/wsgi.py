import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Load the search segmenter's dictionary now, not in the first searches (every thread of a fresh
# process would wait for it).
from notes.search.segmentation import warm_up  # noqa: E402

warm_up()

# What is loaded by now (modules, settings, URL patterns, the dictionary) lives as long as the process:
# moved out of the collector's reach, a full collection no longer walks it. Measured at M (following
# feed, 3,000 pages in process): longest collection pause 87 -> 9 ms, CPU per page -4%.
gc.collect()
gc.freeze()
