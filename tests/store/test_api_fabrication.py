"""The fabrication API: uploading a model for a quote or a quoted job, the permission
matrix (member, another member, staff, another space's staff, outsider, super admin;
denied writes change nothing), accepting into a store order paid as any store order,
and moving the job."""

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from apps.store.models import (
    FabricationJob,
    FabricationStatus,
    Order,
    OrderStatus,
    Payment,
)
from tests.store.fixtures import models3d
from tests.store.fixtures.fabrication import FABRICATION_URL, PrintShop, print_shop, upload

pytestmark = pytest.mark.django_db
D = Decimal
Status = FabricationStatus
QUOTE_URL = f"{FABRICATION_URL}quote"


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    settings.STORE_TAX_RATE = "20"
    settings.STRIPE_SECRET_KEY = ""
    return tmp_path


@pytest.fixture
def shop() -> PrintShop:
    return print_shop()


def detail(job: Any, action: str = "") -> str:
    return f"{FABRICATION_URL}{job.pk}/{action}"


def error_of(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def snapshot() -> dict[str, Any]:
    return {
        "jobs": list(FabricationJob.objects.order_by("id").values_list("id", "status")),
        "orders": list(Order.objects.order_by("id").values_list("id", "status")),
        "payments": Payment.objects.count(),
    }


# --- uploading -----------------------------------------------------------------------------


def test_an_upload_answers_201_with_the_quoted_job(shop, media):
    response = shop.client("member").post(
        FABRICATION_URL, upload(shop, quantity=2, notes="Black please"), format="multipart"
    )

    assert response.status_code == 201, response.content
    job = FabricationJob.objects.get()
    assert response.json() == {
        "id": str(job.pk),
        "makerspace": str(shop.space.pk),
        "user": {"id": str(shop.member.pk), "name": "Marta Member"},
        "material": {"id": str(shop.pla.pk), "name": "PLA", "printer_name": "Prusa MK4"},
        "original_filename": "cube.stl",
        "quantity": 2,
        "volume_cm3": "8.000",
        "bounding_box_mm": {"x": "20.00", "y": "20.00", "z": "20.00"},
        "fits_printer": True,
        "unit_price": "0.96",
        "setup_fee": "3.00",
        "quote_amount": "4.92",
        "currency": "UAH",
        "status": "quoted",
        "notes": "Black please",
        "order": None,
        "tracking_number": "",
        "allowed_moves": ["cancelled"],
        "created_at": response.json()["created_at"],
    }
    assert (media / "store" / "fabrication" / f"{job.pk}.stl").read_bytes() == (
        models3d.binary_stl()
    )


@pytest.mark.parametrize(
    ("label", "filename", "data"),
    [
        ("ASCII STL", "cube.stl", models3d.ascii_stl()),
        ("3MF", "cube.3mf", models3d.three_mf()),
    ],
)
def test_the_quote_measures_and_prices_without_storing_anything(shop, media, label, filename, data):
    response = shop.client("member").post(
        QUOTE_URL, upload(shop, data=data, filename=filename, quantity=3), format="multipart"
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "makerspace": str(shop.space.pk),
        "material": {"id": str(shop.pla.pk), "name": "PLA", "printer_name": "Prusa MK4"},
        "original_filename": filename,
        "quantity": 3,
        "volume_cm3": "8.000",
        "bounding_box_mm": {"x": "20.00", "y": "20.00", "z": "20.00"},
        "fits_printer": True,
        "unit_price": "0.96",
        "setup_fee": "3.00",
        "quote_amount": "5.88",
        "currency": "UAH",
    }, label
    assert FabricationJob.objects.count() == 0
    assert not any(path.is_file() for path in media.rglob("*"))


@pytest.mark.parametrize(
    ("label", "body", "code"),
    [
        ("open mesh", {"data": models3d.open_box_stl()}, "MODEL_NOT_WATERTIGHT"),
        ("broken bytes", {"data": models3d.garbage()}, "MODEL_UNREADABLE"),
        ("empty file", {"data": b""}, "MODEL_EMPTY"),
        ("no triangles", {"data": models3d.no_triangles_stl()}, "MODEL_EMPTY"),
        ("an image", {"data": models3d.png(), "filename": "photo.png"}, "MODEL_TYPE"),
        ("an image named .stl", {"data": models3d.png()}, "MODEL_TYPE"),
        (
            "too big for the printer",
            {"data": models3d.binary_stl(models3d.box(100, 100, 100))},
            "MODEL_DOES_NOT_FIT",
        ),
        ("quantity 0", {"quantity": 0}, "VALIDATION_ERROR"),
        ("quantity of words", {"quantity": "many"}, "VALIDATION_ERROR"),
        ("an unknown field", {"colour": "red"}, "VALIDATION_ERROR"),
        ("a makerspace that is not", {"makerspace": "not-a-uuid"}, "VALIDATION_ERROR"),
    ],
)
@pytest.mark.parametrize("url", [FABRICATION_URL, QUOTE_URL])
def test_bad_uploads_answer_400_with_their_code_and_store_nothing(
    shop, media, url, label, body, code
):
    fields = {key: value for key, value in body.items() if key in ("data", "filename", "quantity")}
    extra = {key: value for key, value in body.items() if key not in fields}
    material = shop.resin if code == "MODEL_DOES_NOT_FIT" else shop.pla
    payload = upload(shop, material=material, **fields, **extra)

    response = shop.client("member").post(url, payload, format="multipart")

    assert response.status_code == 400, (label, response.content)
    assert error_of(response)["code"] == code, label
    assert FabricationJob.objects.count() == 0
    assert not any(path.is_file() for path in media.rglob("*"))


def test_a_file_over_the_limit_is_refused_as_too_large(shop, settings):
    settings.FABRICATION_MAX_UPLOAD_MB = 1
    big = b"\0" * (2 * 1024 * 1024)

    response = shop.client("member").post(
        FABRICATION_URL, upload(shop, data=big), format="multipart"
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "MODEL_TOO_LARGE"
    assert FabricationJob.objects.count() == 0


def test_the_file_is_required_and_the_material_must_be_the_spaces(shop):
    member = shop.client("member")
    no_file = upload(shop)
    no_file.pop("file")
    response = member.post(FABRICATION_URL, no_file, format="multipart")
    assert (response.status_code, list(error_of(response)["details"])) == (400, ["file"])

    elsewhere = upload(shop, material=shop.elsewhere_pla)
    elsewhere["makerspace"] = str(shop.space.pk)
    response = member.post(FABRICATION_URL, elsewhere, format="multipart")
    assert (response.status_code, list(error_of(response)["details"])) == (400, ["material"])
    assert FabricationJob.objects.count() == 0


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 401),
        ("outsider", 403),
        ("elsewhere_manager", 403),
    ],
)
@pytest.mark.parametrize("url", [FABRICATION_URL, QUOTE_URL])
def test_only_members_of_the_space_upload(shop, media, url, who, status):
    response = shop.client(who).post(url, upload(shop), format="multipart")

    assert response.status_code == status
    assert FabricationJob.objects.count() == 0
    assert not any(path.is_file() for path in media.rglob("*"))


def test_the_materials_a_member_may_order_from(shop):
    response = shop.client("member").get(f"{FABRICATION_URL}materials")

    assert response.status_code == 200
    rows = response.json()["data"]
    assert [row["name"] for row in rows] == ["PLA", "Resin"]
    assert rows[0] == {
        "id": str(shop.pla.pk),
        "makerspace": str(shop.space.pk),
        "name": "PLA",
        "printer_name": "Prusa MK4",
        "price_per_cm3": "0.1200",
        "setup_fee": "3.00",
        "currency": "UAH",
        "build_volume_mm": {"x": "250.00", "y": "210.00", "z": "220.00"},
    }
    assert shop.client("outsider").get(f"{FABRICATION_URL}materials").json()["data"] == []
    assert len(shop.client("super_admin").get(f"{FABRICATION_URL}materials").json()["data"]) == 3


# --- who sees which job -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("member", 200),
        ("other_member", 404),
        ("manager", 200),
        ("admin", 200),
        ("elsewhere_manager", 404),
        ("outsider", 404),
        ("super_admin", 200),
        (None, 401),
    ],
)
def test_a_job_is_seen_by_its_member_the_spaces_staff_and_super_admins(shop, who, status):
    job = shop.job()

    response = shop.client(who).get(detail(job))

    assert response.status_code == status
    if status == 200:
        assert response.json()["id"] == str(job.pk)


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("member", ["mine"]),
        ("other_member", ["theirs"]),
        ("manager", ["theirs", "mine"]),
        ("elsewhere_manager", ["lviv"]),
        ("outsider", []),
        ("super_admin", ["lviv", "theirs", "mine"]),
    ],
)
def test_the_list_holds_what_the_caller_may_see_newest_first(shop, time_machine, who, sees):
    time_machine.move_to("2026-05-04T10:00:00+00:00", tick=False)
    shop.job(filename="mine.stl")
    time_machine.move_to("2026-05-04T10:01:00+00:00", tick=False)
    shop.job(user=shop.other_member, filename="theirs.stl")
    time_machine.move_to("2026-05-04T10:02:00+00:00", tick=False)
    shop.job(user=shop.elsewhere_manager, material=shop.elsewhere_pla, filename="lviv.stl")

    response = shop.client(who).get(FABRICATION_URL)

    assert response.status_code == 200
    names = [row["original_filename"].removesuffix(".stl") for row in response.json()["data"]]
    assert names == sees
    assert response.json()["meta"]["total"] == len(sees)


def test_the_list_filters_by_status_and_makerspace(shop):
    quoted = shop.job()
    cancelled = shop.job()
    FabricationJob.objects.filter(pk=cancelled.pk).update(status=Status.CANCELLED)
    staff = shop.client("super_admin")

    rows = staff.get(FABRICATION_URL, {"status": "quoted"}).json()["data"]
    assert [row["id"] for row in rows] == [str(quoted.pk)]
    rows = staff.get(FABRICATION_URL, {"makerspace": str(shop.elsewhere.pk)}).json()["data"]
    assert rows == []
    assert staff.get(FABRICATION_URL, {"status": "lost"}).status_code == 400
    assert staff.get(FABRICATION_URL, {"makerspace": "nope"}).status_code == 400


def test_the_model_file_is_downloaded_by_whoever_sees_the_job(shop):
    job = shop.job(data=models3d.ascii_stl())

    response = shop.client("manager").get(detail(job, "model"))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == models3d.ascii_stl()
    assert 'filename="cube.stl"' in response["Content-Disposition"]
    assert shop.client("other_member").get(detail(job, "model")).status_code == 404


# --- accepting and paying ---------------------------------------------------------------------


def test_the_member_accepts_and_pays_as_for_any_store_order(
    shop, django_capture_on_commit_callbacks
):
    job = shop.job()
    member = shop.client("member")

    response = member.post(detail(job, "accept"), {}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    assert body["job"]["status"] == "ordered"
    assert body["job"]["order"] == {
        "id": str(order.pk),
        "order_number": order.order_number,
        "status": "pending",
        "payment_status": "unpaid",
        "total_amount": "5.90",
    }
    assert body["order"] == body["job"]["order"]
    assert body["payment"]["provider"] == "test"
    assert body["payment"]["amount"] == "5.90"
    assert body["payment"]["pay_url"]

    with django_capture_on_commit_callbacks(execute=True):
        paid = member.post(
            f"/api/v1/store/orders/{order.pk}/pay", {"outcome": "succeeded"}, format="json"
        )

    assert paid.status_code == 200, paid.content
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("paid", "paid")
    assert member.get(detail(job)).json()["order"]["payment_status"] == "paid"
    assert shop.client("manager").get(detail(job)).json()["allowed_moves"] == [
        "accepted",
        "cancelled",
    ]


@pytest.mark.parametrize(
    ("who", "status"),
    [("other_member", 404), ("manager", 403), ("outsider", 404), (None, 401)],
)
def test_nobody_else_accepts_a_members_quote(shop, who, status):
    job = shop.job()
    before = snapshot()

    response = shop.client(who).post(detail(job, "accept"), {}, format="json")

    assert response.status_code == status
    assert snapshot() == before


def test_a_shipped_print_needs_an_address(shop):
    job = shop.job()
    member = shop.client("member")

    response = member.post(detail(job, "accept"), {"shipping_method": "shipping"}, format="json")
    assert (response.status_code, list(error_of(response)["details"])) == (
        400,
        ["shipping_address"],
    )
    response = member.post(
        detail(job, "accept"), {"shipping_method": "local_delivery"}, format="json"
    )
    assert response.status_code == 400
    assert Order.objects.count() == 0

    address = {
        "name": "Marta",
        "line1": "Main St 1",
        "city": "Kyiv",
        "postal_code": "01001",
        "country": "UA",
    }
    response = member.post(
        detail(job, "accept"),
        {"shipping_method": "shipping", "shipping_address": address},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Order.objects.get().shipping_address == address


def test_accepting_twice_answers_409(shop):
    job = shop.job()
    member = shop.client("member")
    member.post(detail(job, "accept"), {}, format="json")

    response = member.post(detail(job, "accept"), {}, format="json")

    assert response.status_code == 409
    assert error_of(response)["details"]["current"] == "ordered"
    assert Order.objects.count() == 1


# --- moving the job ---------------------------------------------------------------------------


def paid_job(shop: PrintShop) -> FabricationJob:
    job = shop.job()
    shop.client("member").post(detail(job, "accept"), {}, format="json")
    order = Order.objects.get()
    shop.client("member").post(
        f"/api/v1/store/orders/{order.pk}/pay", {"outcome": "succeeded"}, format="json"
    )
    return job


def test_staff_move_a_paid_job_through_printing_to_the_pickup(
    shop, django_capture_on_commit_callbacks
):
    job = paid_job(shop)
    manager = shop.client("manager")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        for status in ("accepted", "printing", "ready", "picked_up"):
            response = manager.post(detail(job, "status"), {"to": status}, format="json")
            assert response.status_code == 200, response.content
            assert response.json()["status"] == status

    assert Order.objects.get().status == OrderStatus.DELIVERED
    assert len(mail.outbox) == 4
    assert response.json()["allowed_moves"] == []


def test_an_unpaid_job_is_not_accepted_and_an_illegal_move_names_the_state(shop):
    job = shop.job()
    manager = shop.client("manager")
    shop.client("member").post(detail(job, "accept"), {}, format="json")

    response = manager.post(detail(job, "status"), {"to": "accepted"}, format="json")
    assert (response.status_code, error_of(response)["code"]) == (409, "NOT_PAID")

    response = manager.post(detail(job, "status"), {"to": "ready"}, format="json")
    assert response.status_code == 409
    assert error_of(response)["code"] == "INVALID_STATE"
    assert error_of(response)["details"]["current"] == "ordered"
    assert error_of(response)["details"]["allowed"] == ["cancelled"]

    response = manager.post(detail(job, "status"), {"to": "quoted"}, format="json")
    assert response.status_code == 400
    assert FabricationJob.objects.get().status == Status.ORDERED


@pytest.mark.parametrize(
    ("who", "to", "status"),
    [
        ("member", "accepted", 403),
        ("member", "printing", 403),
        ("other_member", "cancelled", 404),
        ("elsewhere_manager", "accepted", 404),
        ("outsider", "cancelled", 404),
        (None, "accepted", 401),
    ],
)
def test_denied_moves_change_nothing(shop, who, to, status):
    job = paid_job(shop)
    before = snapshot()

    response = shop.client(who).post(detail(job, "status"), {"to": to}, format="json")

    assert response.status_code == status
    assert snapshot() == before


def test_the_member_cancels_their_quote(shop):
    job = shop.job()

    response = shop.client("member").post(detail(job, "status"), {"to": "cancelled"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert FabricationJob.objects.get().status == Status.CANCELLED


def test_shipping_takes_a_tracking_number(shop):
    job = shop.job()
    address = {
        "name": "Marta",
        "line1": "Main St 1",
        "city": "Kyiv",
        "postal_code": "01001",
        "country": "UA",
    }
    shop.client("member").post(
        detail(job, "accept"),
        {"shipping_method": "shipping", "shipping_address": address},
        format="json",
    )
    order = Order.objects.get()
    shop.client("member").post(
        f"/api/v1/store/orders/{order.pk}/pay", {"outcome": "succeeded"}, format="json"
    )
    manager = shop.client("manager")
    for status in ("accepted", "printing", "ready"):
        manager.post(detail(job, "status"), {"to": status}, format="json")

    response = manager.post(detail(job, "status"), {"to": "shipped"}, format="json")
    assert (response.status_code, list(error_of(response)["details"])) == (400, ["tracking_number"])

    response = manager.post(
        detail(job, "status"), {"to": "shipped", "tracking_number": "RR1UA"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["tracking_number"]) == ("shipped", "RR1UA")
    assert Order.objects.get().tracking_number == "RR1UA"
