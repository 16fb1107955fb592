"""API authentication: allauth's JWT access tokens, refused once their user is gone or inactive."""

from __future__ import annotations

import time
from functools import cache, lru_cache

from allauth.headless import app_settings
from allauth.headless.contrib.rest_framework.authentication import JWTTokenAuthentication
from allauth.headless.tokens.strategies.jwt.internal import validate_access_token
from django.core.exceptions import ValidationError
from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS

from accounts.models import User
from accounts.selectors import user_get_by_pk
from accounts.usercache import user_get_kept

#: Access tokens whose signature was checked, per process (a token lives minutes; a client sends it
#: with every request in that time).
VERIFIED_TOKENS = 4096


class JWTAuthentication(JWTTokenAuthentication):
    """allauth's stateless check verifies only the signature and expiry, and loads the user lazily.

    A deleted user then raised ``DoesNotExist`` (a 500) and a deactivated one kept full access until
    the token expired. A write loads the user (one query, compiled once: ``user_get_by_pk``); a read
    takes it from the process's copy that PostgreSQL keeps true (``accounts.usercache``).
    """

    #: Whether the user may come from the process's copy (set per request: DRF makes an
    #: authenticator per request). A view's ``user_copy`` says, else its method: a read may, a write
    #: loads the row for its services.
    copy = False

    @property
    def keyword(self) -> str:
        return headless_setting("JWT_AUTHORIZATION_HEADER_SCHEME")

    def authenticate(self, request):
        view = request.parser_context.get("view")
        self.copy = getattr(view, "user_copy", request.method in SAFE_METHODS)
        return super().authenticate(request)

    def authenticate_credentials(self, key: str):
        payload = access_token_payload(key)
        try:
            pk = User._meta.pk.to_python(payload["sub"])
        except ValidationError as error:
            raise AuthenticationFailed("Invalid token.") from error
        user = user_get_kept(pk) if self.copy else user_get_by_pk(pk)
        if user is None or not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return user, payload


def access_token_payload(token: str) -> dict:
    """The claims of a valid access token; ``AuthenticationFailed`` otherwise.

    Checking the signature (PyJWT, HMAC) costs 0.1-0.25 ms, more than the rest of a light request,
    and gives the same answer for the same token and key every time: a token that passed is kept (a
    bounded number per process, forgotten when settings change) and only its expiry is checked again.
    Not with allauth's stateful validation, which also asks whether the session still exists."""
    if headless_setting("JWT_STATEFUL_VALIDATION_ENABLED"):
        payload = _validated(token)
    else:
        payload = _validated_once(token)
        if payload["exp"] <= time.time():  # as PyJWT judges ``exp`` (no leeway)
            raise AuthenticationFailed("Invalid token.")
    return dict(payload)


def _validated(token: str) -> dict:
    result = validate_access_token(token)
    if result is None:
        raise AuthenticationFailed("Invalid token.")
    return result[1]


_validated_once = lru_cache(maxsize=VERIFIED_TOKENS)(_validated)  # a failure is not kept


@cache
def headless_setting(name: str):
    """One of allauth's headless settings, read once (each read through its module goes through a
    ``__getattr__`` and Django's settings; every authenticated request asked for two)."""
    return getattr(app_settings, name)


@receiver(setting_changed)
def _forget(**kwargs) -> None:
    _validated_once.cache_clear()
    headless_setting.cache_clear()
