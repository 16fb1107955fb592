import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Load the search segmenter's dictionary now, not in the first searches (every thread of a fresh
# process would wait for it).
from notes.search.segmentation import warm_up  # noqa: E402

warm_up()
