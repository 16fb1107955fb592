"""Absolute URLs of stored files, as the API writes them (avatars, media variants).

A list page writes a hundred of them; the storage's ``url()`` and ``build_absolute_uri`` cost a few
microseconds each, so the result is cached per name and origin (and forgotten when settings change).
Not when URLs are signed (``AWS_QUERYSTRING_AUTH``): a signature expires, so each response asks the
storage afresh.
"""

from __future__ import annotations

from functools import cache, lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.encoding import iri_to_uri


def file_url(name: str, request=None) -> str:
    """The URL of ``name`` in the default storage, absolute when there is a ``request``."""
    origin = _origin(request) if request is not None else ""
    if _signed():
        return _absolute(storages["default"].url(name), origin)
    return _cached(name, origin)


def _origin(request) -> str:
    """``scheme://host`` of the request, worked out (and the host validated) once per request."""
    try:
        return request.file_url_origin
    except AttributeError:
        request.file_url_origin = request.build_absolute_uri("/")[:-1]
        return request.file_url_origin


@cache
def _signed() -> bool:
    return getattr(settings, "AWS_QUERYSTRING_AUTH", False)


@lru_cache(maxsize=16384)
def _cached(name: str, origin: str) -> str:
    return _absolute(storages["default"].url(name), origin)


@receiver(setting_changed)
def _forget(**kwargs) -> None:
    """Tests swap storages, ``MEDIA_URL`` and the signing flag: start afresh on any change."""
    _signed.cache_clear()
    _cached.cache_clear()


def _absolute(url: str, origin: str) -> str:
    if not origin or urlsplit(url).scheme:
        return url
    return iri_to_uri(origin + url) if url.startswith("/") else iri_to_uri(f"{origin}/{url}")
