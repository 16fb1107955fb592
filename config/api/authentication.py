"""API authentication: allauth's JWT access tokens, refused once their user is gone or inactive."""

from __future__ import annotations

from allauth.headless.contrib.rest_framework.authentication import JWTTokenAuthentication
from django.contrib.auth import get_user_model
from rest_framework.exceptions import AuthenticationFailed


class JWTAuthentication(JWTTokenAuthentication):
    """allauth's stateless check verifies only the signature and expiry, and loads the user lazily.

    A deleted user then raised ``DoesNotExist`` (a 500) and a deactivated one kept full access until
    the token expired. Loading the user here costs nothing extra: it is the same one query.
    """

    def authenticate_credentials(self, key: str):
        user, payload = super().authenticate_credentials(key)
        try:
            active = user.is_active
        except get_user_model().DoesNotExist:
            active = False
        if not active:
            raise AuthenticationFailed("User inactive or deleted.")
        return user, payload
