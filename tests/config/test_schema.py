import re
from urllib.parse import urlsplit

import pytest
import yaml
from django.core.management import call_command
from jsonschema import Draft7Validator, FormatChecker

from accounts import services
from tests.factories import BrandFactory, UserFactory
from tests.factories.notes import NoteFactory

pytestmark = pytest.mark.django_db

ACCOUNTS_PATHS = {
    "/api/v1/me": {"get", "patch"},
    "/api/v1/me/notifications": {"get"},
    "/api/v1/me/notifications/read": {"post"},
    "/api/v1/me/follow-requests": {"get"},
    "/api/v1/me/follow-requests/{username}/approve": {"post"},
    "/api/v1/me/follow-requests/{username}/reject": {"post"},
    "/api/v1/me/blocks": {"get"},
    "/api/v1/me/brands": {"get"},
    "/api/v1/users/{username}": {"get"},
    "/api/v1/users/{username}/followers": {"get"},
    "/api/v1/users/{username}/following": {"get"},
    "/api/v1/users/{username}/follow": {"post", "delete"},
    "/api/v1/users/{username}/block": {"post", "delete"},
    "/api/v1/creator/certification": {"get", "post"},
    "/api/v1/brands": {"get", "post"},
    "/api/v1/brands/{slug}": {"get"},
    "/api/v1/health": {"get"},
}


@pytest.fixture(scope="module")
def schema(django_db_blocker, tmp_path_factory) -> dict:
    target = tmp_path_factory.mktemp("schema") / "schema.yml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(target))
    return yaml.safe_load(target.read_text())


def test_schema_generates_without_warnings_and_lists_the_accounts_paths(schema):
    for path, methods in ACCOUNTS_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path


def test_schema_describes_the_contract_truthfully(schema):
    components = schema["components"]["schemas"]
    me_in = components["PatchedMeInRequest"]["properties"]
    # Only the editable fields are offered for writing.
    assert "is_staff" not in me_in and "follower_count" not in me_in and "username" not in me_in
    assert {"nickname", "bio", "interests", "avatar", "is_private"} <= set(me_in)
    patch = schema["paths"]["/api/v1/me"]["patch"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(patch)
    follow = schema["paths"]["/api/v1/users/{username}/follow"]["post"]["responses"]["200"]
    ref = follow["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(components[ref]["properties"]) == {"state", "changed", "follower_count"}
    inbox = schema["paths"]["/api/v1/me/notifications"]["get"]["responses"]["200"]
    inbox_ref = inbox["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"results", "next", "unread_count"} <= set(components[inbox_ref]["properties"])
    brand_public = components["BrandOut"]["properties"]
    assert "business_license" not in brand_public
    assert "bearer" in str(schema["components"]["securitySchemes"]).lower()


def test_schema_endpoint_serves_the_schema(anon_client):
    response = anon_client.get("/api/schema/")
    assert response.status_code == 200
    served = yaml.safe_load(response.content)
    assert served["info"]["title"] == "Zhongcao API"
    assert "/api/v1/users/{username}/follow" in served["paths"]
    as_json = anon_client.get("/api/schema/?format=json")
    assert as_json.status_code == 200
    assert as_json.json()["openapi"].startswith("3.")


def test_docs_serve_swagger_ui_from_sidecar_static_files(anon_client):
    response = anon_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "/api/schema/" in html
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html)
    assert external == [], external
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html


#: The formats JSON Schema validators check, and ``uri`` (whose checker needs a package we do not
#: use): the schema tells a blank URL field from a URL by it (``oneOf`` of the two).
FORMATS = FormatChecker()


@FORMATS.checks("uri")
def _uri(value) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)


def _component_validator(schema: dict, name: str) -> Draft7Validator:
    """A JSON Schema validator of the component ``name`` (OpenAPI 3.0's ``nullable`` read as a null
    type, which is what it means), checking formats."""

    def plain(node):
        if isinstance(node, list):
            return [plain(item) for item in node]
        if not isinstance(node, dict):
            return node
        node = {key: plain(value) for key, value in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        return node

    root = {"$ref": f"#/components/schemas/{name}", "components": plain(schema["components"])}
    return Draft7Validator(root, format_checker=FORMATS)


def test_answers_match_exactly_one_shape_of_their_one_of(schema, client_for, anon_client):
    """``oneOf`` means exactly one: a search page (four shapes told apart by ``type``) and a brand
    page (its owner's shape was also valid as the public one's) matched several (found by fuzzing
    the schema with Schemathesis)."""
    pages = _component_validator(schema, "SearchPage")
    for kind in ("notes", "users", "products", "topics"):
        answer = anon_client.get("/api/v1/search", {"q": "咖啡", "type": kind})
        assert answer.json()["type"] == kind and answer.json()["results"] == []
        pages.validate(answer.json())
    assert not pages.is_valid({"type": "songs", "results": [], "next": None, "previous": None})

    owner = UserFactory()
    brand = BrandFactory(owner=owner, slug="moss")
    services.brand_review(brand=brand, reviewer=UserFactory(is_staff=True), approve=True)
    brand_page = _component_validator(schema, "BrandPage")
    public, own = (
        anon_client.get("/api/v1/brands/moss").json(),
        client_for(owner).get("/api/v1/brands/moss").json(),
    )
    assert "business_license" not in public and own["business_license"] == brand.business_license
    brand_page.validate(public)
    brand_page.validate(own)


def test_every_operation_documents_the_error_shape_that_real_errors_have(schema, client_for, anon_client):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            default = operation["responses"]["default"]["content"]["application/json"]["schema"]
            assert default == {"$ref": "#/components/schemas/ErrorOut"}, (method, path)
    errors = _component_validator(schema, "ErrorOut")
    buyer = client_for(UserFactory())
    answers = [
        anon_client.get("/api/v1/notes/999999"),
        anon_client.get("/api/v1/search", {"q": ""}),
        anon_client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer expired"),
        buyer.post("/api/v1/shop/orders", {"items": [None]}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 16),
    ]
    assert [a.status_code for a in answers] == [404, 400, 401, 400]
    for answer in answers:
        errors.validate(answer.json())
    assert answers[3].json()["error"]["fields"] == {"items": {"0": ["This field may not be null."]}}
    assert not errors.is_valid({"detail": "Not found."})  # DRF's own shape is not ours


def test_deletes_that_answer_a_state_document_it_as_their_200(schema, client_for):
    """drf-spectacular documents a DELETE as a 204 without a body; these answer the state they left
    (found by fuzzing the schema: their 200 was undocumented)."""
    stateful = {
        path
        for path, operations in schema["paths"].items()
        if "delete" in operations and "200" in operations["delete"]["responses"]
    }
    assert stateful == {
        "/api/v1/notes/{note_id}/like",
        "/api/v1/notes/{note_id}/collect",
        "/api/v1/notes/{note_id}/not-interested",
        "/api/v1/comments/{comment_id}/like",
        "/api/v1/users/{username}/follow",
        "/api/v1/users/{username}/block",
    }
    for path in stateful:
        assert "204" not in schema["paths"][path]["delete"]["responses"], path
    reader, note = client_for(UserFactory()), NoteFactory()
    answer = reader.delete(f"/api/v1/notes/{note.pk}/like")
    assert answer.status_code == 200
    ref = schema["paths"]["/api/v1/notes/{note_id}/like"]["delete"]["responses"]["200"]
    name = ref["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    _component_validator(schema, name).validate(answer.json())
    assert answer.json() == {"active": False, "changed": False, "count": 0}
