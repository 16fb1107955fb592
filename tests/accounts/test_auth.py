"""Sign-up, login, token refresh and logout through allauth headless (app client, JWT strategy)."""

import base64
import json

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import UserFactory
from tests.factories.accounts import PASSWORD
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

SIGNUP = "/_allauth/app/v1/auth/signup"
LOGIN = "/_allauth/app/v1/auth/login"
REFRESH = "/_allauth/app/v1/tokens/refresh"
SESSION = "/_allauth/app/v1/auth/session"
NEW_PASSWORD = "Gr4ss-seed-lantern"


def signup(client, username="lin", email="lin@example.com", password=NEW_PASSWORD, **extra):
    body = {"username": username, "email": email, "password": password}
    return client.post(SIGNUP, body, format="json", **extra)


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_signup_refresh_logout_end_to_end():
    response = signup(APIClient())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["data"]["user"]["username"] == "lin"
    assert body["meta"]["is_authenticated"] is True
    access, refresh = body["meta"]["access_token"], body["meta"]["refresh_token"]

    user = User.objects.get(username="lin")
    assert user.email == "lin@example.com"
    assert user.nickname == "lin"  # the adapter fills the nickname
    assert user.check_password(NEW_PASSWORD)
    assert not user.is_staff and not user.is_kol_certified

    me = bearer(access).get("/api/v1/me")
    assert me.status_code == 200, me.content
    assert me.json()["id"] == user.pk
    assert me.json()["username"] == "lin"
    assert me.json()["email"] == "lin@example.com"

    refreshed = APIClient().post(REFRESH, {"refresh_token": refresh}, format="json")
    assert refreshed.status_code == 200, refreshed.content
    new_access = refreshed.json()["data"]["access_token"]
    new_refresh = refreshed.json()["data"]["refresh_token"]
    assert new_access != access
    assert new_refresh != refresh
    assert bearer(new_access).get("/api/v1/me").json()["username"] == "lin"

    # Refresh tokens rotate: the one just used is spent.
    reused = APIClient().post(REFRESH, {"refresh_token": refresh}, format="json")
    assert reused.status_code == 400, reused.content
    assert "access_token" not in reused.json().get("data", {})

    # Logout is identified by the access token's session (its ``sid`` claim).
    logout = bearer(new_access).delete(SESSION)
    assert logout.status_code == 401, logout.content  # allauth: "now unauthenticated"
    assert logout.json()["meta"]["is_authenticated"] is False

    after = APIClient().post(REFRESH, {"refresh_token": new_refresh}, format="json")
    assert after.status_code == 400, after.content
    assert "access_token" not in after.json().get("data", {})


def test_login_by_username_and_by_email_gives_tokens():
    user = UserFactory(username="mei")
    for credentials in ({"username": "mei"}, {"email": "mei@example.com"}):
        response = APIClient().post(LOGIN, {**credentials, "password": PASSWORD}, format="json")
        assert response.status_code == 200, response.content
        meta = response.json()["meta"]
        assert meta["access_token"] and meta["refresh_token"]
        assert bearer(meta["access_token"]).get("/api/v1/me").json()["id"] == user.pk


def test_login_with_wrong_password_is_refused():
    UserFactory(username="mei")
    response = APIClient().post(LOGIN, {"username": "mei", "password": "not-it"}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert "meta" not in body or "access_token" not in body["meta"]
    assert [error["code"] for error in body["errors"]] == ["username_password_mismatch"]


def test_signup_refuses_taken_username_and_email():
    UserFactory(username="lin", email="lin@example.com")
    response = signup(APIClient())
    assert response.status_code == 400, response.content
    params = {error["param"] for error in response.json()["errors"]}
    assert params & {"username", "email"}
    assert User.objects.filter(username="lin").count() == 1


def _login(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, format="json", **extra)


def _error_codes(response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def test_failed_logins_are_rate_limited(settings):
    # allauth answers an exhausted "login_failed" budget as a form error (400), not a 429.
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/m/ip,100/m/key"}
    UserFactory(username="mei")
    client = APIClient()
    for _ in range(3):
        assert _error_codes(_login(client, "mei", "guess")) == ["username_password_mismatch"]
    limited = _login(client, "mei", "guess")
    assert limited.status_code == 400
    assert _error_codes(limited) == ["too_many_login_attempts"]
    # Once limited, even the right password is refused from this address...
    right = _login(client, "mei", PASSWORD)
    assert right.status_code == 400
    assert _error_codes(right) == ["too_many_login_attempts"]
    assert "access_token" not in right.json().get("meta", {})
    # ...while another address is not affected.
    assert _login(client, "mei", PASSWORD, REMOTE_ADDR="10.9.8.7").status_code == 200


def test_failed_logins_are_rate_limited_per_account_across_addresses(settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "100/m/ip,2/5m/key"}
    UserFactory(username="mei")
    UserFactory(username="bo")
    client = APIClient()
    for n in range(2):
        assert _login(client, "mei", "guess", REMOTE_ADDR=f"10.0.0.{n + 1}").status_code == 400
    limited = _login(client, "mei", PASSWORD, REMOTE_ADDR="10.0.0.99")
    assert _error_codes(limited) == ["too_many_login_attempts"]
    assert _login(client, "bo", PASSWORD).status_code == 200


def test_login_attempts_are_rate_limited_with_429(settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "2/m/ip"}
    UserFactory(username="mei")
    client = APIClient()
    for _ in range(2):
        assert _login(client, "mei", PASSWORD).status_code == 200
    limited = _login(client, "mei", PASSWORD)
    assert limited.status_code == 429, limited.content
    assert "access_token" not in limited.json().get("meta", {})


def test_signup_is_rate_limited(settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/m/ip"}
    for n in range(2):
        response = signup(APIClient(), username=f"new{n}", email=f"new{n}@example.com")
        assert response.status_code == 200, response.content
    limited = signup(APIClient(), username="new9", email="new9@example.com")
    assert limited.status_code == 429, limited.content
    assert not User.objects.filter(username="new9").exists()


def test_api_refuses_a_refresh_token_as_bearer():
    UserFactory(username="mei")
    meta = APIClient().post(LOGIN, {"username": "mei", "password": PASSWORD}, format="json").json()["meta"]
    assert_error(bearer(meta["refresh_token"]).get("/api/v1/me"), 401, "authentication_failed")


def test_token_of_a_deactivated_user_is_refused(client_for):
    user = UserFactory()
    client = client_for(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_error(client.get("/api/v1/me"), 401, "authentication_failed")
    assert_error(
        client.patch("/api/v1/me", {"bio": "still here"}, format="json"), 401, "authentication_failed"
    )
    assert User.objects.get(pk=user.pk).bio == ""


def test_token_of_a_deleted_user_is_refused_not_a_500(client_for):
    user = UserFactory()
    client = client_for(user)
    User.objects.filter(pk=user.pk).delete()
    assert_error(client.get("/api/v1/me"), 401, "authentication_failed")
    assert_error(client.get("/api/v1/brands"), 401, "authentication_failed")


def _token_of(client) -> str:
    return client._credentials["HTTP_AUTHORIZATION"].removeprefix("Bearer ")


def test_a_checked_token_is_refused_once_it_expires(client_for, monkeypatch):
    """The signature check is remembered per token; the expiry is judged on every request."""
    from config.api import authentication

    user = UserFactory(username="ren")
    client = client_for(user)
    assert client.get("/api/v1/me").json()["username"] == "ren"  # checked and kept
    expires = authentication.access_token_payload(_token_of(client))["exp"]
    monkeypatch.setattr(authentication.time, "time", lambda: expires)
    assert_error(client.get("/api/v1/me"), 401, "authentication_failed")
    monkeypatch.setattr(authentication.time, "time", lambda: expires - 1)
    assert client.get("/api/v1/me").json()["username"] == "ren"


def test_a_token_altered_after_a_good_one_was_checked_is_refused(client_for):
    user, other = UserFactory(), UserFactory()
    client = client_for(user)
    token = _token_of(client)
    assert client.get("/api/v1/me").json()["id"] == user.pk
    header, payload, signature = token.split(".")
    forged_payload = base64.urlsafe_b64encode(
        json.dumps({**json.loads(base64.urlsafe_b64decode(payload + "==")), "sub": str(other.pk)}).encode()
    )
    forged = f"{header}.{forged_payload.decode().rstrip('=')}.{signature}"
    assert_error(bearer(forged).get("/api/v1/me"), 401, "authentication_failed")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert_error(bearer(f"{header}.{payload}.{flipped}").get("/api/v1/me"), 401, "authentication_failed")
    assert client.get("/api/v1/me").json()["id"] == user.pk


def test_a_signed_access_token_without_expiry_is_refused_not_a_500():
    """The check refuses it before it could be remembered, whose later checks read its ``exp``."""
    import jwt
    from allauth.headless.tokens.strategies.jwt.internal import _get_jwt_config

    user = UserFactory()
    config = _get_jwt_config()
    token = jwt.encode(
        {"sub": str(user.pk), "token_use": "access"}, config.signing_key, algorithm=config.algorithm
    )
    assert_error(bearer(token).get("/api/v1/me"), 401, "authentication_failed")


def test_a_signing_key_change_refuses_tokens_checked_under_the_old_one(client_for, settings):
    client = client_for(UserFactory())
    assert client.get("/api/v1/me").status_code == 200
    settings.HEADLESS_JWT_PRIVATE_KEY = ""
    settings.SECRET_KEY = "another-secret-key-of-enough-length-for-hmac-0123456789"
    assert_error(client.get("/api/v1/me"), 401, "authentication_failed")


def _key_from_mail(mailoutbox, marker: str) -> str:
    """The key allauth put in the frontend link of the newest email (``...marker/<key>``)."""
    import re
    from urllib.parse import unquote

    match = re.search(re.escape(marker) + r"(\S+)", mailoutbox[-1].body)
    assert match, mailoutbox[-1].body
    return unquote(match.group(1))


def test_password_reset_by_email_end_to_end(mailoutbox):
    user = UserFactory(username="mei", email="mei@example.com")
    client = APIClient()
    requested = client.post(
        "/_allauth/app/v1/auth/password/request", {"email": "mei@example.com"}, format="json"
    )
    assert requested.status_code == 200, requested.content
    assert mailoutbox[-1].to == ["mei@example.com"]
    key = _key_from_mail(mailoutbox, "password/reset/key/")

    reset = client.post(
        "/_allauth/app/v1/auth/password/reset", {"key": key, "password": NEW_PASSWORD}, format="json"
    )
    assert reset.status_code in (200, 401), reset.content  # 401: reset done, not logged in
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    login = APIClient().post(LOGIN, {"username": "mei", "password": NEW_PASSWORD}, format="json")
    assert login.status_code == 200 and login.json()["meta"]["access_token"]
    # The key is spent.
    again = client.post(
        "/_allauth/app/v1/auth/password/reset", {"key": key, "password": "An0ther-pass-x"}, format="json"
    )
    assert again.status_code == 400


def test_email_verification_is_optional_and_works(mailoutbox):
    from allauth.account.models import EmailAddress

    response = signup(APIClient(), username="yue", email="yue@example.com")
    assert response.status_code == 200  # optional verification: logged in at once
    assert not EmailAddress.objects.get(email="yue@example.com").verified
    key = _key_from_mail(mailoutbox, "verify-email/")
    verified = APIClient().post("/_allauth/app/v1/auth/email/verify", {"key": key}, format="json")
    assert verified.status_code in (200, 401), verified.content
    assert EmailAddress.objects.get(email="yue@example.com").verified


def test_headless_settings_read_once_still_follow_a_change(client_for, settings):
    """``headless_setting`` remembers allauth's settings per process and forgets them when settings
    change: the header's scheme, and stateful validation (the token's session must still exist)."""
    from importlib import import_module

    from allauth.headless.tokens.strategies.jwt.internal import session_key_from_sid

    from config.api.authentication import access_token_payload

    user = UserFactory()
    client = client_for(user)
    token = _token_of(client)
    assert client.get("/api/v1/me").json()["id"] == user.pk
    settings.HEADLESS_JWT_AUTHORIZATION_HEADER_SCHEME = "Token"
    assert_error(client.get("/api/v1/me"), 401, "not_authenticated")
    scheme = APIClient()
    scheme.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert scheme.get("/api/v1/me").json()["id"] == user.pk
    settings.HEADLESS_JWT_STATEFUL_VALIDATION_ENABLED = True
    assert scheme.get("/api/v1/me").json()["id"] == user.pk
    session_key = session_key_from_sid(access_token_payload(token)["sid"])
    import_module(settings.SESSION_ENGINE).SessionStore(session_key).delete()  # logged out: refused now
    assert_error(scheme.get("/api/v1/me"), 401, "authentication_failed")
