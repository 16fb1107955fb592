"""Absolute URLs of stored files, as the API writes them (avatars, media variants).

A list page writes a hundred of them; the storage's ``url()`` and ``build_absolute_uri`` cost a few
microseconds each, so the result is cached per storage, name and origin. Not when URLs are signed
(``AWS_QUERYSTRING_AUTH``): a signature expires, so each response asks the storage afresh.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import storages
from django.utils.encoding import iri_to_uri


def file_url(name: str, request=None) -> str:
    """The URL of ``name`` in the default storage, absolute when there is a ``request``."""
    storage = storages["default"]
    origin = _origin(request) if request is not None else ""
    if getattr(settings, "AWS_QUERYSTRING_AUTH", False):
        return _absolute(storage.url(name), origin)
    # ``base_url`` (file system storage) follows MEDIA_URL, which tests may change on the same storage.
    return _cached(storage, getattr(storage, "base_url", None), name, origin)


def _origin(request) -> str:
    """``scheme://host`` of the request, worked out (and the host validated) once per request."""
    try:
        return request.file_url_origin
    except AttributeError:
        request.file_url_origin = request.build_absolute_uri("/")[:-1]
        return request.file_url_origin


@lru_cache(maxsize=16384)
def _cached(storage, base_url, name: str, origin: str) -> str:
    return _absolute(storage.url(name), origin)


def _absolute(url: str, origin: str) -> str:
    if not origin or urlsplit(url).scheme:
        return url
    return iri_to_uri(origin + url) if url.startswith("/") else iri_to_uri(f"{origin}/{url}")
