import pytest

from config.api import health

pytestmark = pytest.mark.django_db


def test_health_reports_every_check_ok(anon_client):
    response = anon_client.get("/api/v1/health")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "storage"}
    for name, check in body["checks"].items():
        assert check["ok"] is True, name
        assert check["detail"], name
        assert check["ms"] >= 0
    assert body["checks"]["storage"]["detail"] == "FileSystemStorage"


def test_health_needs_no_authentication_and_ignores_a_bad_token(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    assert anon_client.get("/api/v1/health").status_code == 200


@pytest.mark.parametrize("failing", ["database", "cache", "broker", "storage"])
def test_a_failing_check_degrades_to_503(anon_client, monkeypatch, failing):
    def broken():
        raise ConnectionError("connection refused")

    monkeypatch.setitem(health.CHECKS, failing, broken)
    response = anon_client.get("/api/v1/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"][failing] == {
        "ok": False,
        "detail": "ConnectionError: connection refused",
        "ms": body["checks"][failing]["ms"],
    }
    assert all(check["ok"] for name, check in body["checks"].items() if name != failing)


def test_cache_check_notices_a_cache_that_forgets(anon_client, monkeypatch):
    monkeypatch.setattr(health.cache, "get", lambda key, default=None: None)
    body = anon_client.get("/api/v1/health").json()
    assert body["checks"]["cache"]["ok"] is False
    assert "cache did not return" in body["checks"]["cache"]["detail"]
