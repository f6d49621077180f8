"""The fabrication pages: the member's jobs with the upload form (and the live quote's
script and hooks), the upload working without scripts, a job's page with its quote,
accepting it and paying, the staff's print queue with its status buttons, and the
demo price list."""

import re
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.core.models import AuditLogEntry
from apps.makerspaces.models import Makerspace
from apps.store.demo_fabrication import load_fabrication
from apps.store.models import (
    FabricationJob,
    FabricationMaterial,
    FabricationStatus,
    Order,
    OrderStatus,
)
from apps.store.services import fabrication, orders
from tests.store.fixtures import models3d
from tests.store.fixtures.fabrication import PrintShop, pay, print_shop

pytestmark = pytest.mark.django_db
D = Decimal
Status = FabricationStatus
FABRICATION = reverse("store:fabrication")


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    settings.STORE_TAX_RATE = "20"
    settings.STRIPE_SECRET_KEY = ""
    return tmp_path


@pytest.fixture
def shop() -> PrintShop:
    return print_shop()


def signed_in(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def job_page(job: FabricationJob) -> str:
    return reverse("store:fabrication-job", args=[job.pk])


def queue(shop: PrintShop) -> str:
    return reverse("store:fabrication-queue", args=[shop.space.slug])


def model_upload(data: bytes | None = None, name: str = "bracket.stl") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else models3d.binary_stl())


# --- the upload page -------------------------------------------------------------------------


def test_the_page_asks_visitors_to_sign_in():
    response = Client().get(FABRICATION)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_member_sees_the_upload_form_with_the_price_list_and_the_live_quote(shop):
    response = signed_in(shop.member).get(FABRICATION)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert f'data-quote-url="{reverse("store-fabrication-quote")}"' in page
    assert 'src="/static/js/fabrication-quote.js"' in page
    assert 'id="live-quote"' in page
    assert 'accept=".stl,.3mf"' in page
    options = re.findall(r'<option value="([^"]+)" data-makerspace="([^"]+)"', page)
    assert sorted(options) == sorted(
        [(str(shop.pla.pk), str(shop.space.pk)), (str(shop.resin.pk), str(shop.space.pk))]
    )
    assert "Kyiv Prints · PLA on Prusa MK4: 0.12 UAH/cm³ + 3.00 UAH setup" in page
    assert "data-error-model-not-watertight=" in page
    assert finders.find("js/fabrication-quote.js"), "the script ships with the site"


def test_the_live_quote_answers_the_page_session_with_its_csrf_token(shop):
    client = Client(enforce_csrf_checks=True)
    client.force_login(shop.member)
    page = client.get(FABRICATION).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    quote_url = re.search(r'data-quote-url="([^"]+)"', page)
    assert quote_url is not None
    body = {
        "file": model_upload(),
        "material": str(shop.pla.pk),
        "makerspace": str(shop.space.pk),
        "quantity": "2",
    }

    without = client.post(quote_url.group(1), body)
    body["file"] = model_upload()
    response = client.post(quote_url.group(1), body, headers={"X-CSRFToken": token.group(1)})

    assert without.status_code == 403
    assert response.status_code == 200, response.content
    assert response.json()["quote_amount"] == "4.92"


def test_someone_in_no_space_with_a_price_list_is_told_so(shop):
    response = signed_in(shop.outsider).get(FABRICATION)

    assert response.status_code == 200
    assert response.context["has_materials"] is False
    assert b'id="fabrication-upload"' not in response.content


def test_the_form_works_without_scripts_and_lands_on_the_quote(shop, media):
    client = signed_in(shop.member)

    response = client.post(
        FABRICATION,
        {"material": str(shop.pla.pk), "file": model_upload(), "quantity": "3", "notes": ""},
    )

    job = FabricationJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job_page(job)
    assert (job.user, job.quantity, job.quote_amount) == (shop.member, 3, D("5.88"))
    page = client.get(job_page(job))
    assert page.status_code == 200
    assert b"5.88 UAH" in page.content
    assert b"8.000 cm" in page.content
    listing = client.get(FABRICATION)
    assert [row.pk for row in listing.context["page"].object_list] == [job.pk]


@pytest.mark.parametrize(
    ("label", "data", "name", "wording"),
    [
        ("open mesh", models3d.open_box_stl(), "open.stl", "holes or open edges"),
        ("not a model", models3d.png(), "photo.stl", "Upload an STL or 3MF file."),
        (
            "too big for the printer",
            models3d.binary_stl(models3d.box(100, 100, 100)),
            "big.stl",
            "does not fit the printer (153.00 × 77.00 × 165.00 mm)",
        ),
    ],
)
def test_a_refused_model_is_shown_next_to_the_file_and_nothing_is_stored(
    shop, media, label, data, name, wording
):
    response = signed_in(shop.member).post(
        FABRICATION,
        {"material": str(shop.resin.pk), "file": model_upload(data, name), "quantity": "1"},
    )

    assert response.status_code == 400, label
    errors = response.context["form"].errors["file"]
    assert any(wording in error for error in errors), errors
    assert FabricationJob.objects.count() == 0
    assert not any(path.is_file() for path in media.rglob("*"))


def test_a_material_of_another_space_is_not_a_choice(shop):
    response = signed_in(shop.member).post(
        FABRICATION,
        {"material": str(shop.elsewhere_pla.pk), "file": model_upload(), "quantity": "1"},
    )

    assert response.status_code == 400
    assert "material" in response.context["form"].errors
    assert FabricationJob.objects.count() == 0


# --- a job's page ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("member", 200),
        ("manager", 200),
        ("super_admin", 200),
        ("other_member", 404),
        ("elsewhere_manager", 404),
        ("outsider", 404),
    ],
)
def test_a_job_page_is_for_its_member_and_the_spaces_staff(shop, who, status):
    job = shop.job()

    response = signed_in(getattr(shop, who)).get(job_page(job))

    assert response.status_code == status


def test_the_member_accepts_on_the_page_and_goes_to_pay(shop):
    job = shop.job()
    client = signed_in(shop.member)
    page = client.get(job_page(job))
    assert page.context["may_accept"] is True
    assert reverse("store:fabrication-accept", args=[job.pk]).encode() in page.content

    response = client.post(
        reverse("store:fabrication-accept", args=[job.pk]), {"shipping_method": "pickup"}
    )

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(reverse("store:pay", args=[order.payment_id]))
    assert FabricationJob.objects.get().status == Status.ORDERED
    page = client.get(job_page(job))
    assert page.context["pay_link"] == reverse("store:order", args=[order.order_number])
    assert order.order_number.encode() in page.content


def test_a_quote_whose_order_lapsed_offers_no_second_order(shop, time_machine):
    time_machine.move_to("2026-05-04T10:00:00+00:00", tick=False)
    job = shop.job()
    result = fabrication.fabrication_job_accept(job=job, acting_user=shop.member)
    time_machine.move_to("2026-05-04T10:31:00+00:00", tick=False)
    assert orders.order_release_unpaid(order_id=result.order.pk)

    page = signed_in(shop.member).get(job_page(job))

    assert page.context["may_accept"] is False
    assert b"Upload the model again for a new quote." in page.content
    assert reverse("store:fabrication-accept", args=[job.pk]).encode() not in page.content


def test_shipping_on_the_page_needs_the_address(shop):
    job = shop.job()
    client = signed_in(shop.member)

    response = client.post(
        reverse("store:fabrication-accept", args=[job.pk]), {"shipping_method": "shipping"}
    )

    assert response.status_code == 400
    assert set(response.context["accept_form"].errors) == {
        "name",
        "line1",
        "city",
        "postal_code",
        "country",
    }
    assert Order.objects.count() == 0


def test_the_member_cancels_a_quote_on_its_page(shop):
    job = shop.job()

    response = signed_in(shop.member).post(
        reverse("store:fabrication-status", args=[job.pk]), {"to": "cancelled"}
    )

    assert response.status_code == 302
    assert response["Location"] == job_page(job)
    assert FabricationJob.objects.get().status == Status.CANCELLED


def test_a_refused_move_is_a_message_and_changes_nothing(shop):
    job = shop.job()

    response = signed_in(shop.member).post(
        reverse("store:fabrication-status", args=[job.pk]), {"to": "printing"}
    )

    assert response.status_code == 302
    assert messages_of(response) == ["You may not do this."]
    assert FabricationJob.objects.get().status == Status.QUOTED


# --- the print queue -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("manager", 200),
        ("admin", 200),
        ("super_admin", 200),
        ("member", 404),
        ("elsewhere_manager", 404),
        ("outsider", 404),
    ],
)
def test_the_queue_is_for_the_spaces_staff(shop, who, status):
    assert signed_in(getattr(shop, who)).get(queue(shop)).status_code == status


def test_staff_work_the_queue_with_its_buttons(shop):
    job = shop.job()
    result = shop.job(user=shop.other_member, filename="gear.stl")
    accepted = fabrication.fabrication_job_accept(job=result, acting_user=shop.other_member)
    pay(accepted.payment)
    client = signed_in(shop.manager)

    response = client.get(queue(shop))

    assert response.status_code == 200
    rows = {row["job"].original_filename: row for row in response.context["rows"]}
    assert [move for move, _label in rows["cube.stl"]["moves"]] == ["cancelled"]
    assert [move for move, _label in rows["gear.stl"]["moves"]] == ["accepted", "cancelled"]
    assert b'name="to" value="accepted"' in response.content

    moved = client.post(
        reverse("store:fabrication-status", args=[result.pk]),
        {"to": "accepted", "next": queue(shop)},
    )

    assert moved.status_code == 302
    assert moved["Location"] == queue(shop)
    assert FabricationJob.objects.get(pk=result.pk).status == Status.ACCEPTED
    assert Order.objects.get().status == OrderStatus.PROCESSING
    assert FabricationJob.objects.get(pk=job.pk).status == Status.QUOTED


def test_the_queue_shows_open_jobs_unless_asked_for_all(shop):
    open_job = shop.job(filename="open.stl")
    done = shop.job(filename="done.stl")
    FabricationJob.objects.filter(pk=done.pk).update(status=Status.PICKED_UP)
    client = signed_in(shop.manager)

    def listed(**query: str) -> list[str]:
        response = client.get(queue(shop), query)
        return [row["job"].original_filename for row in response.context["rows"]]

    assert listed() == [open_job.original_filename]
    assert listed(status="all") == ["open.stl", "done.stl"]
    assert listed(status="picked_up") == ["done.stl"]


def test_a_next_address_off_the_site_is_not_followed(shop):
    job = shop.job()

    response = signed_in(shop.manager).post(
        reverse("store:fabrication-status", args=[job.pk]),
        {"to": "cancelled", "next": "https://evil.example/"},
    )

    assert response["Location"] == job_page(job)


# --- the demo ------------------------------------------------------------------------------


def test_the_demo_price_list_and_quoted_job_load_once(media):
    call_command("seed_demo", stdout=StringIO())
    output = StringIO()
    load_fabrication(stdout=output)
    load_fabrication()

    kyiv = Makerspace.objects.get(slug="kyiv-fab-lab")
    materials = {row.name: row for row in FabricationMaterial.objects.filter(makerspace=kyiv)}
    assert sorted(materials) == ["PETG", "PLA", "Resin"]
    pla = materials["PLA"]
    assert (pla.price_per_cm3, pla.setup_fee, pla.printer_name) == (
        D("4.5000"),
        D("60.00"),
        "Prusa MK4",
    )
    assert (pla.build_x_mm, pla.build_y_mm, pla.build_z_mm) == (D("250.0"), D("210.0"), D("220.0"))
    job = FabricationJob.objects.get()
    assert (job.user.email, job.status, job.volume_cm3) == (
        "member@makrx.local",
        Status.QUOTED,
        D("8.000"),
    )
    assert job.model_file.read() == models3d.binary_stl()
    assert "3D printing" in output.getvalue()


def test_the_demo_loads_nothing_without_the_demo_space():
    load_fabrication()

    assert FabricationMaterial.objects.count() == 0


# --- the staff admin -------------------------------------------------------------------------

MATERIALS_ADMIN = reverse("admin:store_fabricationmaterial_changelist")
JOBS_ADMIN = reverse("admin:store_fabricationjob_changelist")


def test_staff_see_only_their_spaces_price_list_and_jobs_in_the_admin(shop):
    shop.job()
    shop.job(user=shop.elsewhere_manager, material=shop.elsewhere_pla, filename="lviv.stl")
    client = signed_in(shop.manager)

    materials = client.get(MATERIALS_ADMIN)
    jobs = client.get(JOBS_ADMIN)

    assert materials.status_code == 200
    assert {row.pk for row in materials.context["cl"].result_list} == {shop.pla.pk, shop.resin.pk}
    assert [row.original_filename for row in jobs.context["cl"].result_list] == ["cube.stl"]
    assert signed_in(shop.member).get(MATERIALS_ADMIN).status_code in (302, 403)


def test_staff_add_a_price_list_line_in_the_admin_through_the_service(shop):
    client = signed_in(shop.manager)

    response = client.post(
        reverse("admin:store_fabricationmaterial_add"),
        {
            "makerspace": str(shop.space.pk),
            "name": "PETG",
            "price_per_cm3": "0.15",
            "setup_fee": "3.00",
            "currency": "UAH",
            "printer_name": "Prusa MK4",
            "build_x_mm": "250",
            "build_y_mm": "210",
            "build_z_mm": "220",
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.content
    petg = FabricationMaterial.objects.get(name="PETG")
    assert petg.makerspace == shop.space
    assert AuditLogEntry.objects.filter(object_id=str(petg.pk), actor=shop.manager).exists()

    refused = client.post(
        reverse("admin:store_fabricationmaterial_add"),
        {
            "makerspace": str(shop.elsewhere.pk),
            "name": "ASA",
            "price_per_cm3": "0.15",
            "setup_fee": "3.00",
            "currency": "UAH",
            "printer_name": "Prusa MK4",
            "build_x_mm": "250",
            "build_y_mm": "210",
            "build_z_mm": "220",
        },
    )
    assert refused.status_code == 200
    assert not FabricationMaterial.objects.filter(name="ASA").exists()


def test_staff_move_jobs_with_the_admin_actions(shop):
    quoted = shop.job(filename="quoted.stl")
    paid = shop.job(user=shop.other_member, filename="paid.stl")
    result = fabrication.fabrication_job_accept(job=paid, acting_user=shop.other_member)
    pay(result.payment)

    response = signed_in(shop.manager).post(
        JOBS_ADMIN,
        {"action": "accept", "_selected_action": [str(quoted.pk), str(paid.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    assert FabricationJob.objects.get(pk=paid.pk).status == Status.ACCEPTED
    assert FabricationJob.objects.get(pk=quoted.pk).status == Status.QUOTED
    text = " ".join(messages_of(response))
    assert "Accepted: 1." in text
    assert "quoted.stl" in text
