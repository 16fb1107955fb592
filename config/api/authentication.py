"""API authentication: allauth's JWT access tokens, refused once their user is gone or inactive."""

from __future__ import annotations

from allauth.headless.contrib.rest_framework.authentication import JWTTokenAuthentication
from django.core.exceptions import ValidationError
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import User
from accounts.selectors import user_get_by_pk


class JWTAuthentication(JWTTokenAuthentication):
    """allauth's stateless check verifies only the signature and expiry, and loads the user lazily.

    A deleted user then raised ``DoesNotExist`` (a 500) and a deactivated one kept full access until
    the token expired. Loading the user here costs nothing extra: it is the same one query (compiled
    once, see ``user_get_by_pk``).
    """

    def authenticate_credentials(self, key: str):
        _, payload = super().authenticate_credentials(key)
        try:
            pk = User._meta.pk.to_python(payload["sub"])
        except ValidationError as error:
            raise AuthenticationFailed("Invalid token.") from error
        user = user_get_by_pk(pk)
        if user is None or not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        return user, payload
