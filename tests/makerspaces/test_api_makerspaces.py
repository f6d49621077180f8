"""The /api/v1/makerspaces/* contract: directory, create, update, verify, join."""

import pytest
from rest_framework.test import APIClient

from apps.core.models import AuditLogEntry
from apps.makerspaces.models import Makerspace, Membership
from tests.conftest import bearer_client
from tests.factories import MakerspaceFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

KYIV = {"lat": "50.450100", "lng": "30.523400"}
LVIV = {"lat": "49.839700", "lng": "24.029700"}
BERLIN = {"lat": "52.520000", "lng": "13.405000"}


def space_at(name: str, point: dict, **extra: object) -> Makerspace:
    return MakerspaceFactory.create(
        name=name, latitude=point["lat"], longitude=point["lng"], **extra
    )


# --- directory ----------------------------------------------------------------------


def test_directory_is_public_and_lists_only_active_spaces(api_client: APIClient) -> None:
    space_at("Kyiv Lab", KYIV)
    MakerspaceFactory.create(name="Closed Shop", is_active=False)

    response = api_client.get("/api/v1/makerspaces/")

    assert response.status_code == 200
    assert [row["name"] for row in response.json()["data"]] == ["Kyiv Lab"]
    assert response.json()["data"][0]["coordinates"] == {"lat": 50.4501, "lng": 30.5234}


def test_directory_search_matches_name_description_and_address(api_client: APIClient) -> None:
    MakerspaceFactory.create(name="Laser Loft", description="", address="")
    MakerspaceFactory.create(name="B", description="We love lasers", address="")
    MakerspaceFactory.create(name="C", description="", address="12 Laser Lane")
    MakerspaceFactory.create(name="Woodshop", description="Saws", address="Oak street")

    response = api_client.get("/api/v1/makerspaces/?search=laser")

    assert sorted(row["name"] for row in response.json()["data"]) == ["B", "C", "Laser Loft"]


def test_directory_verified_filter(api_client: APIClient) -> None:
    MakerspaceFactory.create(name="Checked", verified=True)
    MakerspaceFactory.create(name="Unchecked", verified=False)

    verified = api_client.get("/api/v1/makerspaces/?verified=true").json()["data"]
    unverified = api_client.get("/api/v1/makerspaces/?verified=false").json()["data"]

    assert [row["name"] for row in verified] == ["Checked"]
    assert [row["name"] for row in unverified] == ["Unchecked"]


def test_directory_near_orders_by_distance_and_radius_filters(api_client: APIClient) -> None:
    space_at("Berlin Hack", BERLIN)
    space_at("Lviv Fab", LVIV)
    space_at("Kyiv Lab", KYIV)
    MakerspaceFactory.create(name="Nowhere", latitude=None, longitude=None)

    ordered = api_client.get("/api/v1/makerspaces/?near=50.45,30.52").json()["data"]
    close = api_client.get("/api/v1/makerspaces/?near=50.45,30.52&radius_km=600").json()["data"]

    assert [row["name"] for row in ordered] == ["Kyiv Lab", "Lviv Fab", "Berlin Hack"]
    assert ordered[0]["distance_km"] < 1
    assert 460 < ordered[1]["distance_km"] < 480  # Kyiv–Lviv is about 470 km
    assert 1190 < ordered[2]["distance_km"] < 1220  # Kyiv–Berlin is about 1200 km
    assert [row["name"] for row in close] == ["Kyiv Lab", "Lviv Fab"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("near=abc", "near"),
        ("near=50.4", "near"),
        ("near=91,30", "near"),
        ("near=50,30&radius_km=-5", "radius_km"),
        ("radius_km=10", "radius_km"),
        ("verified=maybe", "verified"),
    ],
)
def test_directory_rejects_bad_filters(api_client: APIClient, query: str, field: str) -> None:
    response = api_client.get(f"/api/v1/makerspaces/?{query}")

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_directory_query_count_does_not_grow_with_rows(
    api_client: APIClient, django_assert_max_num_queries
) -> None:
    MakerspaceFactory.create()
    with django_assert_max_num_queries(3):
        api_client.get("/api/v1/makerspaces/?limit=100")
    MakerspaceFactory.create_batch(40)
    with django_assert_max_num_queries(3):
        response = api_client.get("/api/v1/makerspaces/?limit=100")
    assert len(response.json()["data"]) == 41


# --- create, read, update, delete -------------------------------------------------------------


def test_any_signed_in_user_creates_a_space_and_becomes_its_admin(user) -> None:
    response = bearer_client(user).post(
        "/api/v1/makerspaces/",
        {
            "name": "Kyiv Lab",
            "coordinates": KYIV,
            "timezone": "Europe/Kyiv",
            "currency": "UAH",
            "join_policy": "open",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "kyiv-lab"
    assert body["verified"] is False
    assert body["business_hours"]["mon"] == [["08:00", "22:00"]]
    membership = Membership.objects.get(makerspace_id=body["id"])
    assert (membership.user, membership.role, membership.status) == (user, "admin", "active")
    assert AuditLogEntry.objects.filter(makerspace_id=body["id"], action="create").count() == 1


def test_anonymous_cannot_create_a_space(api_client: APIClient) -> None:
    response = api_client.post("/api/v1/makerspaces/", {"name": "X"})

    assert response.status_code == 401
    assert not Makerspace.objects.exists()


def test_two_spaces_with_one_name_get_distinct_slugs(user) -> None:
    client = bearer_client(user)

    first = client.post("/api/v1/makerspaces/", {"name": "Fab Lab"}).json()
    second = client.post("/api/v1/makerspaces/", {"name": "Fab Lab"}).json()

    assert (first["slug"], second["slug"]) == ("fab-lab", "fab-lab-2")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "X", "currency": "euro"}, "currency"),
        ({"name": "X", "business_hours": {"mon": [["10:00", "09:00"]]}}, "business_hours"),
        ({"name": "X", "business_hours": {"funday": []}}, "business_hours"),
        (
            {"name": "X", "business_hours": {"mon": [["09:00", "13:00"], ["12:00", "14:00"]]}},
            "business_hours",
        ),
        ({"name": "X", "coordinates": {"lat": 95, "lng": 0}}, "coordinates"),
        ({"name": "X", "join_policy": "whoever"}, "join_policy"),
        ({"name": "X", "verified": True}, "verified"),
        ({"name": "X", "settings": [1, 2]}, "settings"),
        ({"name": ""}, "name"),
    ],
)
def test_create_rejects_bad_fields_and_writes_nothing(user, body: dict, field: str) -> None:
    response = bearer_client(user).post("/api/v1/makerspaces/", body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert not Makerspace.objects.exists()
    assert not Membership.objects.exists()


def test_detail_is_public_with_etag(api_client: APIClient) -> None:
    space = MakerspaceFactory.create()

    response = api_client.get(f"/api/v1/makerspaces/{space.pk}/")

    assert response.status_code == 200
    assert response.json()["id"] == str(space.pk)
    assert response["ETag"]


def test_inactive_space_is_404_for_outsiders(api_client: APIClient) -> None:
    space = MakerspaceFactory.create(is_active=False)

    assert api_client.get(f"/api/v1/makerspaces/{space.pk}/").status_code == 404


def test_admin_patches_the_space_and_the_audit_log_records_old_and_new() -> None:
    admin = MembershipFactory.create(role="admin")
    space = admin.makerspace
    client = bearer_client(admin.user)
    hours = {"mon": [["09:00", "13:00"], ["14:00", "20:00"]], "sun": []}

    response = client.patch(
        f"/api/v1/makerspaces/{space.pk}/",
        {"description": "New words", "business_hours": hours},
        format="json",
    )

    assert response.status_code == 200, response.content
    space.refresh_from_db()
    assert space.business_hours == hours
    entry = AuditLogEntry.objects.get(makerspace_id=space.pk, action="update")
    assert entry.actor == admin.user
    assert entry.changes["description"] == ["Tools, machines and friendly people.", "New words"]


@pytest.mark.parametrize("role", ["member", "manager"])
def test_non_admins_cannot_patch_or_delete(role: str) -> None:
    membership = MembershipFactory.create(role=role)
    client = bearer_client(membership.user)
    url = f"/api/v1/makerspaces/{membership.makerspace.pk}/"

    patched = client.patch(url, {"name": "Hijacked"})
    deleted = client.delete(url)

    assert patched.status_code == 403
    assert deleted.status_code == 403
    membership.makerspace.refresh_from_db()
    assert membership.makerspace.name != "Hijacked"
    assert membership.makerspace.is_active


def test_outsider_patch_is_404(user) -> None:
    space = MakerspaceFactory.create()

    response = bearer_client(user).patch(f"/api/v1/makerspaces/{space.pk}/", {"name": "Mine"})

    assert response.status_code == 404
    assert "Makerspace" not in response.json()["error"]["message"] or space.name not in str(
        response.json()
    )


def test_stale_if_match_on_space_is_412() -> None:
    admin = MembershipFactory.create(role="admin")
    url = f"/api/v1/makerspaces/{admin.makerspace.pk}/"
    first, second = bearer_client(admin.user), bearer_client(admin.user)
    etag = first.get(url)["ETag"]

    ok = first.patch(url, {"description": "one"}, HTTP_IF_MATCH=etag)
    stale = second.patch(url, {"description": "two"}, HTTP_IF_MATCH=etag)

    assert ok.status_code == 200
    assert stale.status_code == 412
    admin.makerspace.refresh_from_db()
    assert admin.makerspace.description == "one"


def test_admin_delete_deactivates_and_hides_from_directory(api_client: APIClient) -> None:
    admin = MembershipFactory.create(role="admin")

    response = bearer_client(admin.user).delete(f"/api/v1/makerspaces/{admin.makerspace.pk}/")

    assert response.status_code == 204
    admin.makerspace.refresh_from_db()
    assert admin.makerspace.is_active is False
    assert api_client.get("/api/v1/makerspaces/").json()["data"] == []


# --- verify and join ------------------------------------------------------------------


def test_only_a_super_admin_verifies() -> None:
    admin = MembershipFactory.create(role="admin")
    space = admin.makerspace
    boss = UserFactory.create(is_superuser=True, is_staff=True)

    refused = bearer_client(admin.user).post(f"/api/v1/makerspaces/{space.pk}/verify")
    space.refresh_from_db()
    assert refused.status_code == 403
    assert space.verified is False

    accepted = bearer_client(boss).post(f"/api/v1/makerspaces/{space.pk}/verify")
    space.refresh_from_db()
    assert accepted.status_code == 200
    assert accepted.json()["verified"] is True
    assert space.verified is True
    assert AuditLogEntry.objects.filter(
        makerspace_id=space.pk, action="verify", actor=boss
    ).exists()


@pytest.mark.parametrize(
    ("policy", "status", "membership_status"),
    [("open", 201, "active"), ("approval", 201, "pending"), ("invite", 403, None)],
)
def test_join_follows_the_join_policy(user, policy: str, status: int, membership_status) -> None:
    space = MakerspaceFactory.create(join_policy=policy)

    response = bearer_client(user).post(f"/api/v1/makerspaces/{space.pk}/join")

    assert response.status_code == status
    membership = Membership.objects.filter(user=user, makerspace=space).first()
    assert (membership.status if membership else None) == membership_status


def test_joining_twice_is_409(user) -> None:
    space = MakerspaceFactory.create(join_policy="open")
    client = bearer_client(user)
    client.post(f"/api/v1/makerspaces/{space.pk}/join")

    again = client.post(f"/api/v1/makerspaces/{space.pk}/join")

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ALREADY_MEMBER"
    assert Membership.objects.filter(user=user, makerspace=space).count() == 1


def test_pending_member_has_no_access_until_approved(user) -> None:
    space = MakerspaceFactory.create(join_policy="approval")
    manager = MembershipFactory.create(makerspace=space, role="manager")
    client = bearer_client(user)
    client.post(f"/api/v1/makerspaces/{space.pk}/join")
    pending = Membership.objects.get(user=user, makerspace=space)

    before = client.get(f"/api/v1/makerspaces/{space.pk}/skills/")
    approved = bearer_client(manager.user).post(
        f"/api/v1/makerspaces/{space.pk}/members/{pending.pk}/approve"
    )
    after = client.get(f"/api/v1/makerspaces/{space.pk}/skills/")

    assert before.status_code == 404
    assert approved.status_code == 200
    assert approved.json()["status"] == "active"
    assert after.status_code == 200


def test_my_memberships_lists_the_callers_spaces(user) -> None:
    mine = MembershipFactory.create(user=user, role="manager")
    MembershipFactory.create()

    response = bearer_client(user).get("/api/v1/users/me/memberships")

    assert response.status_code == 200
    assert [row["makerspace"]["id"] for row in response.json()["data"]] == [str(mine.makerspace.pk)]
    assert response.json()["data"][0]["role"] == "manager"


@pytest.mark.parametrize("name", ["New", "Mine", "Invitations"])
def test_generated_slugs_avoid_page_routes(user, name: str) -> None:
    response = bearer_client(user).post("/api/v1/makerspaces/", {"name": name})

    assert response.status_code == 201
    assert response.json()["slug"] == f"{name.lower()}-2"


def test_a_reserved_slug_is_refused(user) -> None:
    response = bearer_client(user).post("/api/v1/makerspaces/", {"name": "X", "slug": "mine"})

    assert response.status_code == 400
    assert "slug" in response.json()["error"]["details"]
    assert not Makerspace.objects.exists()
