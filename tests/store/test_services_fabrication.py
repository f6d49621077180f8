"""The fabrication services: quotes from the price list, jobs stored only after their
model passed, accepting a quote into a store order, the job's status machine with its
store order following, the member's emails, and the price list itself."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from apps.core.exceptions import ApplicationError
from apps.core.models import AuditLogEntry
from apps.store.fabrication_emails import send_fabrication_status_email
from apps.store.mesh import ModelMeasure
from apps.store.models import (
    FabricationJob,
    FabricationMaterial,
    FabricationStatus,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentProvider,
    PaymentStatus,
    Refund,
    ShippingMethod,
)
from apps.store.services import fabrication, orders
from tests.store.fixtures import models3d
from tests.store.fixtures.fabrication import PrintShop, material, pay, print_shop

pytestmark = pytest.mark.django_db
D = Decimal
Status = FabricationStatus
ADDRESS = {
    "name": "Marta Member",
    "line1": "Khreshchatyk 1",
    "city": "Kyiv",
    "postal_code": "01001",
    "country": "ua",
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    settings.STORE_TAX_RATE = "20"
    settings.STRIPE_SECRET_KEY = ""
    return tmp_path


@pytest.fixture
def shop() -> PrintShop:
    return print_shop()


def refused(call: Any, code: str, status: int = 400) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    assert (caught.value.code, caught.value.status_code) == (code, status), caught.value.message
    return caught.value


def stored_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def measure(volume: str, x: str = "20", y: str = "20", z: str = "20") -> ModelMeasure:
    return ModelMeasure(
        file_type="stl",
        triangles=12,
        volume_cm3=D(volume),
        size_x_mm=D(x),
        size_y_mm=D(y),
        size_z_mm=D(z),
    )


def accepted(shop: PrintShop, **options: Any) -> fabrication.FabricationOrder:
    job = shop.job()
    return fabrication.fabrication_job_accept(job=job, acting_user=shop.member, **options)


def move(shop: PrintShop, job: FabricationJob, to: str, who: str = "manager", **more: Any):
    return fabrication.fabrication_job_transition(
        job=job, to=to, acting_user=getattr(shop, who), **more
    )


# --- quotes ------------------------------------------------------------------------------


def test_the_quote_is_price_times_volume_times_quantity_plus_the_setup_fee(shop):
    quote = fabrication.quote_for(material=shop.pla, measure=measure("8.000"), quantity=2)

    assert quote.unit_price == D("0.96")
    assert quote.setup_fee == D("3.00")
    assert quote.quote_amount == D("4.92")  # 0.12 × 8 × 2 + 3
    assert quote.currency == "UAH"
    assert quote.fits_printer is True


def test_the_quote_rounds_half_up_to_cents(shop):
    cheap = material(
        shop.space,
        shop.admin,
        "Draft PLA",
        price_per_cm3=D("0.0500"),
        setup_fee=D("0.00"),
        printer_name="Prusa MK4",
        build_x_mm=D("250"),
        build_y_mm=D("210"),
        build_z_mm=D("220"),
    )

    quote = fabrication.quote_for(material=cheap, measure=measure("0.500"), quantity=1)

    # 0.05 × 0.5 = 0.025: half up gives 0.03 (banker's rounding would give 0.02).
    assert (quote.unit_price, quote.quote_amount) == (D("0.03"), D("0.03"))
    quote = fabrication.quote_for(material=cheap, measure=measure("0.500"), quantity=3)
    assert quote.quote_amount == D("0.08")  # 0.075 → 0.08


def test_a_model_too_big_for_the_printer_names_both_sizes(shop):
    error = refused(
        lambda: fabrication.quote_for(
            material=shop.resin, measure=measure("1000", "100", "100", "100"), quantity=1
        ),
        "MODEL_DOES_NOT_FIT",
    )

    assert error.details["model_mm"] == {"x": "100.00", "y": "100.00", "z": "100.00"}
    assert error.details["build_mm"] == {"x": "153.00", "y": "77.00", "z": "165.00"}
    assert "(100.00 × 100.00 × 100.00 mm)" in error.message
    assert "Elegoo Mars 4 (153.00 × 77.00 × 165.00 mm)" in error.message


def test_a_quote_for_an_uploaded_model_stores_nothing(shop, media):
    quote = fabrication.fabrication_quote(
        makerspace=shop.space,
        material=shop.pla,
        filename="cube.stl",
        data=models3d.binary_stl(),
        quantity=3,
        acting_user=shop.member,
    )

    assert quote.measure.volume_cm3 == D("8.000")
    assert quote.quote_amount == D("5.88")
    assert FabricationJob.objects.count() == 0
    assert stored_files(media) == []


# --- jobs --------------------------------------------------------------------------------


def test_a_job_keeps_its_measures_and_quote_and_stores_the_model_under_its_id(shop, media):
    job = fabrication.fabrication_job_create(
        makerspace=shop.space,
        material=shop.pla,
        filename="C:\\models\\bracket\x07.STL",
        data=models3d.ascii_stl(),
        quantity=2,
        notes="Black if you have it",
        acting_user=shop.member,
    )

    job.refresh_from_db()
    assert job.status == Status.QUOTED
    assert job.original_filename == "bracket.STL"
    assert (job.volume_cm3, job.size_x_mm, job.size_y_mm, job.size_z_mm) == (
        D("8.000"),
        D("20.00"),
        D("20.00"),
        D("20.00"),
    )
    assert (job.unit_price, job.setup_fee, job.quote_amount) == (D("0.96"), D("3.00"), D("4.92"))
    assert (job.user, job.notes) == (shop.member, "Black if you have it")
    assert stored_files(media) == [f"store/fabrication/{job.pk}.stl"]
    assert job.model_file.read() == models3d.ascii_stl()
    assert AuditLogEntry.objects.filter(object_id=str(job.pk), action="create").exists()


@pytest.mark.parametrize(
    ("label", "filename", "data", "code"),
    [
        ("broken", "x.stl", models3d.garbage(), "MODEL_UNREADABLE"),
        ("open", "x.stl", models3d.open_box_stl(), "MODEL_NOT_WATERTIGHT"),
        ("empty", "x.stl", b"", "MODEL_EMPTY"),
        ("not a model", "x.stl", models3d.png(), "MODEL_TYPE"),
        ("too big", "x.stl", models3d.binary_stl(models3d.cube(300)), "MODEL_DOES_NOT_FIT"),
    ],
)
def test_a_refused_model_leaves_no_job_and_no_file(shop, media, label, filename, data, code):
    refused(lambda: shop.job(data=data, filename=filename), code)

    assert FabricationJob.objects.count() == 0, label
    assert stored_files(media) == []


def test_orders_are_taken_from_members_of_the_space_on_its_active_price_list(shop):
    refused(lambda: shop.job(user=shop.outsider), "PERMISSION_DENIED", 403)
    refused(lambda: shop.job(user=shop.elsewhere_manager), "PERMISSION_DENIED", 403)
    refused(
        lambda: fabrication.fabrication_job_create(
            makerspace=shop.space,
            material=shop.elsewhere_pla,
            filename="cube.stl",
            data=models3d.binary_stl(),
            quantity=1,
            acting_user=shop.member,
        ),
        "VALIDATION_ERROR",
    )
    FabricationMaterial.objects.filter(pk=shop.resin.pk).update(is_active=False)
    shop.resin.refresh_from_db()
    refused(lambda: shop.job(material=shop.resin), "VALIDATION_ERROR")
    for quantity in (0, -1, 1001, True):
        refused(lambda quantity=quantity: shop.job(quantity=quantity), "VALIDATION_ERROR")

    assert FabricationJob.objects.count() == 0


# --- accepting ---------------------------------------------------------------------------


def test_accepting_makes_one_store_order_with_the_job_and_its_payment(shop, time_machine):
    time_machine.move_to("2026-05-04T10:00:00+00:00", tick=False)

    result = accepted(shop)

    order = Order.objects.get()
    assert result.order == order
    assert (order.user, order.market, order.status, order.payment_status) == (
        shop.member,
        None,
        OrderStatus.PENDING,
        PaymentStatus.UNPAID,
    )
    assert order.shipping_method == ShippingMethod.PICKUP
    assert (order.subtotal, order.tax_amount, order.shipping_amount, order.total_amount) == (
        D("4.92"),
        D("0.98"),
        D("0.00"),
        D("5.90"),
    )
    assert order.currency == "UAH"
    assert order.order_number.startswith("MX-")
    assert order.expires_at == timezone.now() + timedelta(minutes=30)
    item = OrderItem.objects.get()
    assert (item.order, item.fabrication_job, item.name) == (
        order,
        result.job,
        "3D print: cube.stl",
    )
    assert (item.unit_price, item.quantity, item.line_total) == (D("0.96"), 2, D("4.92"))
    payment = Payment.objects.get()
    assert (payment.provider, payment.amount, payment.user) == (
        PaymentProvider.TEST,
        D("5.90"),
        shop.member,
    )
    assert order.payment == payment
    assert result.payment_answer["pay_url"]
    assert result.payment_answer["amount"] in (D("5.90"), "5.90")
    assert FabricationJob.objects.get().status == Status.ORDERED


def test_a_shipped_print_needs_an_address_checked_as_checkout_checks_it(shop):
    job = shop.job()
    for address in (None, {}, {**ADDRESS, "country": "Ukraine"}, {**ADDRESS, "planet": "Earth"}):
        refused(
            lambda address=address: fabrication.fabrication_job_accept(
                job=job,
                acting_user=shop.member,
                shipping_method=ShippingMethod.SHIPPING,
                shipping_address=address,
            ),
            "VALIDATION_ERROR",
        )
    assert Order.objects.count() == 0

    fabrication.fabrication_job_accept(
        job=job,
        acting_user=shop.member,
        shipping_method=ShippingMethod.SHIPPING,
        shipping_address=ADDRESS,
    )

    order = Order.objects.get()
    assert order.shipping_method == ShippingMethod.SHIPPING
    assert order.shipping_address["country"] == "UA"
    assert order.billing_address == order.shipping_address


def test_only_the_member_accepts_their_quote_and_only_once(shop):
    job = shop.job()
    for who in ("other_member", "manager", "outsider"):
        refused(
            lambda who=who: fabrication.fabrication_job_accept(
                job=job, acting_user=getattr(shop, who)
            ),
            "PERMISSION_DENIED",
            403,
        )
    assert Order.objects.count() == 0

    fabrication.fabrication_job_accept(job=job, acting_user=shop.member)
    error = refused(
        lambda: fabrication.fabrication_job_accept(job=job, acting_user=shop.member),
        "INVALID_STATE",
        409,
    )

    assert error.details["current"] == Status.ORDERED
    assert Order.objects.count() == 1


def test_a_quote_whose_order_lapsed_unpaid_is_not_ordered_twice(shop, time_machine):
    time_machine.move_to("2026-05-04T10:00:00+00:00", tick=False)
    result = accepted(shop)
    time_machine.move_to("2026-05-04T10:31:00+00:00", tick=False)
    assert orders.order_release_unpaid(order_id=result.order.pk)
    job = FabricationJob.objects.get()

    refused(
        lambda: fabrication.fabrication_job_accept(job=job, acting_user=shop.member),
        "QUOTE_USED",
        409,
    )
    assert Order.objects.count() == 1


# --- the status machine ------------------------------------------------------------------


def test_staff_accept_a_job_only_once_it_is_paid(shop, django_capture_on_commit_callbacks):
    result = accepted(shop)
    job = result.job

    error = refused(lambda: move(shop, job, Status.ACCEPTED), "NOT_PAID", 409)
    assert error.details == {"current": Status.ORDERED, "payment_status": PaymentStatus.UNPAID}
    assert FabricationJob.objects.get().status == Status.ORDERED

    with django_capture_on_commit_callbacks(execute=True):
        pay(result.payment)
    job = move(shop, job, Status.ACCEPTED)

    assert FabricationJob.objects.get().status == Status.ACCEPTED
    assert Order.objects.get().status == OrderStatus.PROCESSING


def test_a_picked_up_print_goes_accepted_printing_ready_picked_up(shop):
    result = accepted(shop)
    pay(result.payment)
    job = result.job
    for status in (Status.ACCEPTED, Status.PRINTING, Status.READY):
        job = move(shop, job, status, who="admin")
        assert FabricationJob.objects.get().status == status

    refused(lambda: move(shop, job, Status.SHIPPED, tracking_number="RR1"), "INVALID_STATE", 409)
    move(shop, job, Status.PICKED_UP)

    assert FabricationJob.objects.get().status == Status.PICKED_UP
    assert Order.objects.get().status == OrderStatus.DELIVERED
    changes = list(
        AuditLogEntry.objects.filter(object_id=str(job.pk), action="update")
        .order_by("id")
        .values_list("changes", flat=True)
    )
    assert [change["status"][1] for change in changes] == [
        Status.ORDERED,
        Status.ACCEPTED,
        Status.PRINTING,
        Status.READY,
        Status.PICKED_UP,
    ]


def test_a_shipped_print_carries_its_tracking_number_to_the_order(
    shop, django_capture_on_commit_callbacks
):
    result = accepted(shop, shipping_method=ShippingMethod.SHIPPING, shipping_address=ADDRESS)
    pay(result.payment)
    job = result.job
    for status in (Status.ACCEPTED, Status.PRINTING, Status.READY):
        job = move(shop, job, status)
    refused(lambda: move(shop, job, Status.PICKED_UP), "INVALID_STATE", 409)
    refused(lambda: move(shop, job, Status.SHIPPED), "VALIDATION_ERROR")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        move(shop, job, Status.SHIPPED, tracking_number=" RR123456785UA ")

    job.refresh_from_db()
    order = Order.objects.get()
    assert (job.status, job.tracking_number) == (Status.SHIPPED, "RR123456785UA")
    assert (order.status, order.tracking_number) == (OrderStatus.SHIPPED, "RR123456785UA")
    assert [message.to for message in mail.outbox] == [[shop.member.email]]
    assert "RR123456785UA" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (Status.QUOTED, Status.PRINTING),
        (Status.QUOTED, Status.ACCEPTED),
        (Status.PRINTING, Status.PICKED_UP),
        (Status.PICKED_UP, Status.CANCELLED),
        (Status.CANCELLED, Status.PRINTING),
    ],
)
def test_an_illegal_move_answers_409_naming_the_current_state(shop, start, to):
    job = shop.job()
    FabricationJob.objects.filter(pk=job.pk).update(status=start)

    error = refused(lambda: move(shop, job, to), "INVALID_STATE", 409)

    assert error.details["current"] == start
    assert FabricationJob.objects.get().status == start


def test_moves_are_checked_before_anything_changes(shop):
    job = shop.job()
    refused(lambda: move(shop, job, "quoted"), "VALIDATION_ERROR")
    refused(lambda: move(shop, job, "burnt"), "VALIDATION_ERROR")
    refused(lambda: move(shop, job, Status.PRINTING, who="member"), "PERMISSION_DENIED", 403)
    refused(lambda: move(shop, job, Status.CANCELLED, who="other_member"), "PERMISSION_DENIED", 403)
    refused(
        lambda: move(shop, job, Status.CANCELLED, who="elsewhere_manager"), "PERMISSION_DENIED", 403
    )

    assert FabricationJob.objects.get().status == Status.QUOTED


def test_the_member_cancels_a_quote_or_an_unpaid_order_but_not_a_paid_one(shop):
    quoted = shop.job()
    move(shop, quoted, Status.CANCELLED, who="member")
    assert FabricationJob.objects.get(pk=quoted.pk).status == Status.CANCELLED

    unpaid = accepted(shop)
    move(shop, unpaid.job, Status.CANCELLED, who="member")
    assert FabricationJob.objects.get(pk=unpaid.job.pk).status == Status.CANCELLED
    assert Order.objects.get(pk=unpaid.order.pk).status == OrderStatus.CANCELLED

    paid = accepted(shop)
    pay(paid.payment, event_id="evt_paid_2")
    refused(lambda: move(shop, paid.job, Status.CANCELLED, who="member"), "INVALID_STATE", 409)
    assert FabricationJob.objects.get(pk=paid.job.pk).status == Status.ORDERED
    assert Order.objects.get(pk=paid.order.pk).status == OrderStatus.PAID


def test_staff_cancelling_a_paid_job_cancel_its_order_and_give_the_money_back(shop):
    result = accepted(shop)
    pay(result.payment)
    job = move(shop, result.job, Status.ACCEPTED)
    job = move(shop, job, Status.PRINTING)

    move(shop, job, Status.CANCELLED)

    order = Order.objects.get()
    assert FabricationJob.objects.get().status == Status.CANCELLED
    # Cancelled, then refunded in full.
    assert order.status == OrderStatus.REFUNDED
    assert order.payment_status == PaymentStatus.REFUNDED
    assert Refund.objects.get().amount == D("5.90")
    assert order.amount_refunded == D("5.90")
    last = AuditLogEntry.objects.filter(object_id=str(job.pk)).latest("id")
    assert (last.actor, last.changes["status"]) == (
        shop.manager,
        [Status.PRINTING, Status.CANCELLED],
    )


# --- emails ------------------------------------------------------------------------------


def test_the_member_is_emailed_at_each_step_in_their_language(
    shop, django_capture_on_commit_callbacks, time_machine
):
    time_machine.move_to("2026-03-02T09:30:00+00:00", tick=False)
    shop.member.locale = "uk"
    shop.member.save(update_fields=["locale"])
    result = accepted(shop)
    pay(result.payment)
    job = result.job
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        for status in (Status.ACCEPTED, Status.PRINTING, Status.READY, Status.PICKED_UP):
            job = move(shop, job, status)

    assert [message.to for message in mail.outbox] == [[shop.member.email]] * 4
    subjects = [message.subject for message in mail.outbox]
    assert all(subject.endswith("cube.stl") for subject in subjects)
    assert len(set(subjects)) == 4, "each step says something else"
    for message in mail.outbox:
        assert "Вітаємо, Marta Member!" in message.body  # the Ukrainian greeting
        assert "2 березня 2026" in message.body  # dates in Ukrainian, on Kyiv's clock
        assert f"/store/fabrication/{job.pk}/" in message.body


def test_the_cancellation_is_emailed_and_an_email_is_sent_once_per_step(
    shop, django_capture_on_commit_callbacks
):
    job = shop.job()
    with django_capture_on_commit_callbacks(execute=True):
        move(shop, job, Status.CANCELLED)

    assert [message.to for message in mail.outbox] == [[shop.member.email]]
    assert mail.outbox[0].subject == "Print cancelled: cube.stl"
    assert "Hello Marta Member," in mail.outbox[0].body

    assert send_fabrication_status_email(str(job.pk), Status.CANCELLED) is False
    assert len(mail.outbox) == 1


# --- the price list ----------------------------------------------------------------------


def test_only_the_spaces_staff_keep_its_price_list(shop):
    fields = {
        "price_per_cm3": D("0.20"),
        "printer_name": "Bambu X1",
        "build_x_mm": D("256"),
        "build_y_mm": D("256"),
        "build_z_mm": D("256"),
    }
    for who in ("member", "outsider", "elsewhere_manager"):
        refused(
            lambda who=who: material(shop.space, getattr(shop, who), "PETG", **fields),
            "PERMISSION_DENIED",
            403,
        )
    petg = material(shop.space, shop.manager, "PETG", **fields)

    assert (petg.currency, petg.setup_fee, petg.is_active) == ("UAH", D("0.00"), True)
    refused(lambda: material(shop.space, shop.manager, "PETG", **fields), "VALIDATION_ERROR")
    refused(
        lambda: material(shop.space, shop.manager, "ASA", **{**fields, "build_z_mm": D("0")}),
        "VALIDATION_ERROR",
    )
    refused(
        lambda: material(shop.space, shop.manager, "ASA", **{**fields, "price_per_cm3": D("-1")}),
        "VALIDATION_ERROR",
    )
    updated = fabrication.fabrication_material_update(
        material=petg, acting_user=shop.admin, changes={"price_per_cm3": D("0.25")}
    )
    assert updated.price_per_cm3 == D("0.25")
    refused(
        lambda: fabrication.fabrication_material_update(
            material=petg, acting_user=shop.admin, changes={"name": "PLA"}
        ),
        "VALIDATION_ERROR",
    )


def test_a_material_with_jobs_is_deactivated_rather_than_deleted(shop):
    job = shop.job()

    fabrication.fabrication_material_delete(material=shop.pla, acting_user=shop.manager)
    fabrication.fabrication_material_delete(material=shop.resin, acting_user=shop.manager)

    assert FabricationMaterial.objects.get(pk=shop.pla.pk).is_active is False
    assert not FabricationMaterial.objects.filter(pk=shop.resin.pk).exists()
    job.refresh_from_db()
    assert job.quote_amount == D("4.92"), "a job keeps the price it was quoted"
