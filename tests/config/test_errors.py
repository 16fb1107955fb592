import pytest

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def test_unknown_api_path_is_json_404(anon_client):
    assert_error(anon_client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_anonymous_write_is_401(anon_client):
    assert_error(anon_client.patch("/api/v1/me", {"bio": "x"}, format="json"), 401, "not_authenticated")


def test_bad_token_is_401(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert_error(anon_client.get("/api/v1/me"), 401, "authentication_failed")


def test_validation_error_names_fields(api):
    error = assert_error(api.patch("/api/v1/me", {"gender": "dragon"}, format="json"), 400, "invalid")
    assert "gender" in error["fields"]


def test_parse_error(api):
    response = api.generic("PATCH", "/api/v1/me", b"{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_method_not_allowed(api):
    assert_error(api.delete("/api/v1/me"), 405, "method_not_allowed")


def test_a_request_django_refuses_before_any_view_is_a_json_400_under_the_api(api, settings):
    # More form fields than Django reads (found by fuzzing the schema: Django's HTML page).
    fields = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    form = "application/x-www-form-urlencoded"
    refused = api.generic("POST", "/api/v1/me/notifications/read", fields, content_type=form)
    assert assert_error(refused, 400, "bad_request")["fields"] == {}
    elsewhere = api.generic("POST", "/admin/login/", fields, content_type=form)
    assert elsewhere.status_code == 400 and elsewhere["Content-Type"].startswith("text/html")


def test_missing_user_is_404(api):
    assert_error(api.get("/api/v1/users/nobody-here"), 404, "not_found")


def test_a_row_gone_between_check_and_write_is_404_not_500():
    from rest_framework.views import APIView

    from config.api.exceptions import exception_handler
    from notes.models import Note

    gone = Note.DoesNotExist("Note matching query does not exist.")
    response = exception_handler(gone, {"view": APIView()})
    assert response is not None and response.status_code == 404
    assert response.data == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


def test_domain_error_maps_to_its_status(api):
    error = assert_error(api.post(f"/api/v1/users/{api.user.username}/follow"), 400, "self_follow")
    assert "yourself" in error["message"]


def test_permission_denied_is_403(client_for, user):
    from tests.factories import UserFactory

    private = UserFactory(is_private=True)
    assert_error(client_for(user).get(f"/api/v1/users/{private.username}/followers"), 403, "private_account")


def test_throttled_is_429(api, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**SimpleRateThrottle.THROTTLE_RATES, "user_write": "2/min"}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    for _ in range(2):
        assert api.patch("/api/v1/me", {"bio": "ok"}, format="json").status_code == 200
    response = api.patch("/api/v1/me", {"bio": "too many"}, format="json")
    assert_error(response, 429, "throttled")
    assert int(response.headers["Retry-After"]) > 0


def test_scoped_write_throttle_applies_to_its_own_endpoint(api, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    from tests.factories import UserFactory

    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "follow": "2/min"}
    )
    people = UserFactory.create_batch(3)
    for person in people[:2]:
        assert api.post(f"/api/v1/users/{person.username}/follow").status_code == 200
    assert_error(api.post(f"/api/v1/users/{people[2].username}/follow"), 429, "throttled")
    assert api.get(f"/api/v1/users/{people[2].username}").status_code == 200  # reads are not throttled
    assert (
        api.patch("/api/v1/me", {"bio": "other writes keep their own budget"}, format="json").status_code
        == 200
    )
