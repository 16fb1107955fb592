"""KOL certification and brand applications: applying, reviewing (service and admin), visibility."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts import services
from accounts.models import Brand, KolCertification, Notification, User
from accounts.moderation import MODERATORS_GROUP
from config.errors import Conflict
from tests.factories import BrandFactory, UserFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db

CERT = "/api/v1/creator/certification"
APPLICATION = {
    "real_name": "林小雨",
    "category": "beauty",
    "statement": "Three years of honest skincare reviews.",
    "portfolio_url": "https://example.com/lin",
}


@pytest.fixture
def moderator(db):
    return UserFactory(username="mod", is_staff=True)


# --- Certification ---------------------------------------------------------------------------


def test_certification_before_applying_is_404(api):
    assert_error(api.get(CERT), 404, "not_found")


def test_apply_for_certification(api):
    response = api.post(CERT, APPLICATION, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {key: body[key] for key in APPLICATION} == APPLICATION
    assert body["status"] == "pending"
    assert body["reviewed_at"] is None and body["decision_reason"] == ""
    assert api.get(CERT).json() == body
    assert KolCertification.objects.get(user=api.user).status == "pending"
    assert not User.objects.get(pk=api.user.pk).is_kol_certified


def test_duplicate_pending_application_is_409(api):
    api.post(CERT, APPLICATION, format="json")
    assert_error(api.post(CERT, {**APPLICATION, "real_name": "Other"}, format="json"), 409, "already_pending")
    assert KolCertification.objects.get(user=api.user).real_name == APPLICATION["real_name"]


@pytest.mark.parametrize(
    "body", [{**APPLICATION, "category": "gossip"}, {**APPLICATION, "status": "approved"}, {"real_name": "x"}]
)
def test_invalid_application_is_refused(api, body):
    assert_error(api.post(CERT, body, format="json"), 400, "invalid")
    assert not KolCertification.objects.exists()


def test_certification_needs_authentication(anon_client):
    assert_error(anon_client.post(CERT, APPLICATION, format="json"), 401, "not_authenticated")
    assert_error(anon_client.get(CERT), 401, "not_authenticated")


def test_approval_certifies_the_user(api, moderator, django_capture_on_commit_callbacks):
    api.post(CERT, APPLICATION, format="json")
    certification = KolCertification.objects.get(user=api.user)
    with django_capture_on_commit_callbacks(execute=True):
        services.certification_review(certification=certification, reviewer=moderator, approve=True)

    body = api.get(CERT).json()
    assert body["status"] == "approved"
    assert body["reviewed_at"] is not None
    assert KolCertification.objects.get(pk=certification.pk).reviewed_by == moderator
    assert api.get("/api/v1/me").json()["is_kol_certified"] is True
    assert api.get(f"/api/v1/users/{api.user.username}").json()["is_kol_certified"] is True
    notice = Notification.objects.get(recipient=api.user)
    assert (notice.verb, notice.actor) == ("certification", None)

    assert_error(api.post(CERT, APPLICATION, format="json"), 409, "already_certified")
    with pytest.raises(Conflict):
        services.certification_review(certification=certification, reviewer=moderator, approve=False)
    assert User.objects.get(pk=api.user.pk).is_kol_certified


def test_rejection_then_reapplication(api, moderator):
    api.post(CERT, APPLICATION, format="json")
    certification = KolCertification.objects.get(user=api.user)
    services.certification_review(
        certification=certification, reviewer=moderator, approve=False, reason="Portfolio too thin."
    )
    body = api.get(CERT).json()
    assert (body["status"], body["decision_reason"]) == ("rejected", "Portfolio too thin.")
    assert not User.objects.get(pk=api.user.pk).is_kol_certified

    again = api.post(CERT, {**APPLICATION, "statement": "Now with 200 reviews."}, format="json")
    assert again.status_code == 201, again.content
    assert again.json()["status"] == "pending"
    assert again.json()["decision_reason"] == ""
    assert again.json()["statement"] == "Now with 200 reviews."
    assert KolCertification.objects.filter(user=api.user).count() == 1


# --- Brands ----------------------------------------------------------------------------------

BRAND = {"name": "Moss Skin", "business_license": "91310000MA1FL0AB2C", "website": "https://moss.example"}


def test_apply_for_a_brand(api):
    response = api.post("/api/v1/brands", BRAND, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "moss-skin"
    assert body["status"] == "pending"
    assert body["owner"] == api.user.username
    assert body["business_license"] == BRAND["business_license"]
    brand = Brand.objects.get(slug="moss-skin")
    assert (brand.owner, brand.status) == (api.user, "pending")


def test_brand_name_or_slug_clash_is_409(api):
    BrandFactory(name="Moss Skin", slug="moss")
    error = assert_error(api.post("/api/v1/brands", BRAND, format="json"), 409, "brand_exists")
    assert set(error["fields"]) == {"name"}
    error = assert_error(
        api.post("/api/v1/brands", {**BRAND, "name": "MOSS skin", "slug": "moss"}, format="json"),
        409,
        "brand_exists",
    )
    assert set(error["fields"]) == {"name", "slug"}
    assert Brand.objects.count() == 1


def test_brand_with_a_name_that_makes_no_slug_needs_one(api):
    error = assert_error(api.post("/api/v1/brands", {**BRAND, "name": "苔藓"}, format="json"), 400, "invalid")
    assert "slug" in error["fields"]
    response = api.post("/api/v1/brands", {**BRAND, "name": "苔藓", "slug": "taixian"}, format="json")
    assert response.status_code == 201, response.content


def test_brand_application_refuses_smuggled_status(api):
    error = assert_error(
        api.post("/api/v1/brands", {**BRAND, "status": "approved"}, format="json"), 400, "invalid"
    )
    assert "status" in error["fields"]
    assert not Brand.objects.exists()


def test_brand_application_needs_authentication(anon_client):
    assert_error(anon_client.post("/api/v1/brands", BRAND, format="json"), 401, "not_authenticated")


def test_pending_brand_is_visible_only_to_its_owner_and_staff(client_for, anon_client, moderator):
    owner, other = UserFactory(), UserFactory()
    brand = BrandFactory(owner=owner, slug="moss")
    url = "/api/v1/brands/moss"
    assert_error(anon_client.get(url), 404, "not_found")
    assert_error(client_for(other).get(url), 404, "not_found")
    mine = client_for(owner).get(url)
    assert mine.status_code == 200
    assert mine.json()["status"] == "pending"
    assert mine.json()["business_license"] == brand.business_license
    assert client_for(moderator).get(url).json()["business_license"] == brand.business_license
    assert [b["slug"] for b in anon_client.get("/api/v1/brands").json()["results"]] == []
    assert [b["slug"] for b in client_for(owner).get("/api/v1/me/brands").json()["results"]] == ["moss"]


def test_approved_brand_is_public_without_its_licence(client_for, anon_client, moderator):
    owner, other = UserFactory(), UserFactory()
    brand = BrandFactory(owner=owner, slug="moss", name="Moss")
    BrandFactory(slug="still-pending")
    services.brand_review(brand=brand, reviewer=moderator, approve=True)

    listing = anon_client.get("/api/v1/brands").json()["results"]
    assert [b["slug"] for b in listing] == ["moss"]
    assert "business_license" not in listing[0]
    assert listing[0]["owner"] == owner.username
    for client in (anon_client, client_for(other)):
        body = client.get("/api/v1/brands/moss").json()
        assert body["status"] == "approved" and body["name"] == "Moss"
        assert "business_license" not in body and "decision_reason" not in body
    assert client_for(owner).get("/api/v1/brands/moss").json()["business_license"] == brand.business_license
    with pytest.raises(Conflict):
        services.brand_review(brand=brand, reviewer=moderator, approve=False)


def test_rejected_brand_stays_hidden(client_for, anon_client, moderator):
    owner = UserFactory()
    brand = BrandFactory(owner=owner, slug="moss")
    services.brand_review(brand=brand, reviewer=moderator, approve=False, reason="Licence not found.")
    assert_error(anon_client.get("/api/v1/brands/moss"), 404, "not_found")
    [mine] = client_for(owner).get("/api/v1/me/brands").json()["results"]
    assert (mine["status"], mine["decision_reason"]) == ("rejected", "Licence not found.")


def test_my_brands_lists_only_mine(client_for):
    owner = UserFactory()
    BrandFactory(owner=owner, slug="a")
    BrandFactory(owner=owner, slug="b")
    BrandFactory(slug="c")
    assert [b["slug"] for b in client_for(owner).get("/api/v1/me/brands").json()["results"]] == ["b", "a"]


# --- The admin's review actions --------------------------------------------------------------


def admin_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def group_moderator(db):
    user = UserFactory(username="groupmod", is_staff=True)
    user.groups.add(Group.objects.get(name=MODERATORS_GROUP))
    return user


@pytest.mark.parametrize("reviewer_fixture", ["superuser", "group_moderator"])
def test_admin_approves_certifications(request, reviewer_fixture, django_capture_on_commit_callbacks):
    reviewer = request.getfixturevalue(reviewer_fixture)
    applicants = UserFactory.create_batch(2)
    certifications = [
        services.certification_apply(user=user, real_name="N", category="food", statement="S")
        for user in applicants
    ]
    client = admin_client(reviewer)
    url = "/admin/accounts/kolcertification/"
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"action": "approve", "_selected_action": [c.pk for c in certifications]}, follow=True
        )
    assert response.status_code == 200
    assert "2 application(s) approved." in response.content.decode()
    for certification, applicant in zip(certifications, applicants, strict=True):
        certification.refresh_from_db()
        assert (certification.status, certification.reviewed_by) == ("approved", reviewer)
        assert User.objects.get(pk=applicant.pk).is_kol_certified
        assert Notification.objects.filter(recipient=applicant, verb="certification").count() == 1


def test_admin_rejects_brands_and_skips_decided_ones(superuser):
    pending = BrandFactory()
    decided = BrandFactory()
    services.brand_review(brand=decided, reviewer=superuser, approve=True)
    client = admin_client(superuser)
    url = "/admin/accounts/brand/"
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"action": "reject", "_selected_action": [pending.pk, decided.pk]}, follow=True
    )
    assert "1 application(s) rejected." in response.content.decode()
    assert Brand.objects.get(pk=pending.pk).status == "rejected"
    assert Brand.objects.get(pk=decided.pk).status == "approved"


def test_admin_approves_brands(superuser):
    brand = BrandFactory()
    admin_client(superuser).post(
        "/admin/accounts/brand/", {"action": "approve", "_selected_action": [brand.pk]}
    )
    brand.refresh_from_db()
    assert (brand.status, brand.reviewed_by) == ("approved", superuser)


def test_non_staff_cannot_use_the_admin(user):
    brand = BrandFactory()
    response = admin_client(user).post(
        "/admin/accounts/brand/", {"action": "approve", "_selected_action": [brand.pk]}
    )
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert Brand.objects.get(pk=brand.pk).status == "pending"


@pytest.mark.parametrize(
    "url", ["/admin/accounts/user/", "/admin/accounts/follow/", "/admin/accounts/notification/"]
)
def test_admin_changelists_render(superuser, url):
    UserFactory.create_batch(2)
    assert admin_client(superuser).get(url).status_code == 200


def test_admin_user_change_page_renders(superuser):
    person = UserFactory(interests=["food"])
    assert admin_client(superuser).get(f"/admin/accounts/user/{person.pk}/change/").status_code == 200
