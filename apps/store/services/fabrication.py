"""Fabrication (3D-print) orders: a makerspace's price list, quotes for uploaded
models, a member accepting a quote into a store order, and staff moving the job
through printing.

Every write is keyword-only, checks its ``acting_user`` against the makerspace role
matrix (``apps.store.fabrication_selectors``) and runs in one transaction with its
audit entry; the member's emails are enqueued after commit.

A job's life::

    quoted ──accept (member)──▶ ordered ──(paid) accepted──▶ printing ──▶ ready ──▶ shipped
       │                          │            │                │           └──▶ picked_up
       └──▶ cancelled ◀───────────┴────────────┴────────────────┴─ (staff; the member
                                                                   while quoted or unpaid)

A model file is read and measured before anything is stored; only a model that
passed every check reaches the storage.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.audit import audit_record, update_audited
from apps.core.exceptions import (
    ApplicationError,
    ConflictError,
    permission_denied,
    validation_error,
)
from apps.core.models import AuditLogEntry
from apps.core.permissions import require_makerspace_permission
from apps.makerspaces.models import Makerspace
from apps.store import fabrication_selectors as access
from apps.store.fabrication_emails import send_fabrication_status_email
from apps.store.mesh import ModelMeasure, fits_build_volume, measure_model
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
    ShippingMethod,
)
from apps.store.permissions import is_signed_in
from apps.store.services.numbers import order_save_numbered

logger = logging.getLogger(__name__)
Action = AuditLogEntry.Action
Status = FabricationStatus

CENTS = Decimal("0.01")
MAX_QUANTITY = 1000
MAX_MONEY = Decimal("9999999999.99")
MAX_UNIT_PRICE = Decimal("99999999.99")

# Where staff may move a job from each state. The member may only cancel, and only
# before anything is paid (see ``_member_may_cancel``).
STAFF_MOVES: dict[str, tuple[str, ...]] = {
    Status.QUOTED: (Status.CANCELLED,),
    Status.ORDERED: (Status.ACCEPTED, Status.CANCELLED),
    Status.ACCEPTED: (Status.PRINTING, Status.CANCELLED),
    Status.PRINTING: (Status.READY, Status.CANCELLED),
    Status.READY: (Status.SHIPPED, Status.PICKED_UP, Status.CANCELLED),
    Status.SHIPPED: (),
    Status.PICKED_UP: (),
    Status.CANCELLED: (),
}
# The member is emailed at each move. Shipping is told by the order's own email
# (``emails.order_shipped_email``, with the tracking number), sent when the order
# follows the job, so it is not told twice.
EMAILED_STATES = frozenset(
    {
        Status.ACCEPTED,
        Status.PRINTING,
        Status.READY,
        Status.PICKED_UP,
        Status.CANCELLED,
    }
)
# What a job's move means for the store order it was paid with.
ORDER_FOLLOWS: dict[str, str] = {
    Status.ACCEPTED: OrderStatus.PROCESSING,
    Status.SHIPPED: OrderStatus.SHIPPED,
    Status.PICKED_UP: OrderStatus.DELIVERED,
}
CANCEL_REASON = "3D-print job cancelled"
PAID_STATES = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)

MATERIAL_FIELDS = (
    "name",
    "price_per_cm3",
    "setup_fee",
    "currency",
    "printer_name",
    "build_x_mm",
    "build_y_mm",
    "build_z_mm",
    "is_active",
)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


# --- the price list --------------------------------------------------------------------


def _check_material(material: FabricationMaterial) -> None:
    try:
        material.full_clean(exclude=["makerspace"], validate_unique=False)
    except DjangoValidationError as exc:
        details = (
            {
                field: [message for error in errors for message in error.messages]
                for field, errors in exc.error_dict.items()
            }
            if hasattr(exc, "error_dict")
            else {"non_field_errors": list(exc.messages)}
        )
        raise ApplicationError(
            "VALIDATION_ERROR", "The request is not valid; see details.", details=details
        ) from None
    if material.setup_fee < 0:
        raise validation_error("setup_fee", "A setup fee cannot be negative.")
    for field in ("build_x_mm", "build_y_mm", "build_z_mm"):
        if getattr(material, field) <= 0:
            raise validation_error(field, "A printer's build volume is larger than zero.")


def _name_taken(name: Any) -> ApplicationError:
    return validation_error("name", f"This price list already has a line named {name!r}.")


def fabrication_material_create(
    *, makerspace: Makerspace, acting_user: User, name: str, **fields: Any
) -> FabricationMaterial:
    """A new line of the space's 3D-print price list (its managers and admins)."""
    unknown = set(fields) - set(MATERIAL_FIELDS)
    if unknown:
        raise ValueError(f"Unknown price list fields: {sorted(unknown)}")
    require_makerspace_permission(
        acting_user,
        makerspace,
        access.PRICE_LIST_PERMISSION,
        message="Only the makerspace's staff keep its price list.",
    )
    fields.setdefault("currency", makerspace.currency)
    material = FabricationMaterial(makerspace=makerspace, name=name, **fields)
    _check_material(material)
    try:
        with transaction.atomic():
            if FabricationMaterial.objects.filter(makerspace=makerspace, name=name).exists():
                raise _name_taken(name)
            material.save()
            audit_record(
                actor=acting_user,
                instance=material,
                action=Action.CREATE,
                makerspace_id=makerspace.pk,
                changes={"name": name, **fields},
            )
    except IntegrityError:
        raise _name_taken(name) from None
    return material


def fabrication_material_update(
    *, material: FabricationMaterial, acting_user: User, changes: dict[str, Any]
) -> FabricationMaterial:
    """Change a price list line. Jobs already quoted keep the prices they were quoted."""
    unknown = set(changes) - set(MATERIAL_FIELDS)
    if unknown:
        raise ValueError(f"Unknown price list fields: {sorted(unknown)}")
    require_makerspace_permission(
        acting_user,
        material.makerspace_id,
        access.PRICE_LIST_PERMISSION,
        message="Only the makerspace's staff keep its price list.",
    )
    try:
        with transaction.atomic():
            material = FabricationMaterial.objects.select_for_update().get(pk=material.pk)
            if (
                "name" in changes
                and FabricationMaterial.objects.filter(
                    makerspace_id=material.makerspace_id, name=changes["name"]
                )
                .exclude(pk=material.pk)
                .exists()
            ):
                raise _name_taken(changes["name"])
            probe = FabricationMaterial(
                **{
                    field.attname: getattr(material, field.attname)
                    for field in material._meta.concrete_fields
                }
            )
            for field, value in changes.items():
                setattr(probe, field, value)
            _check_material(probe)
            update_audited(
                material,
                changes=changes,
                actor=acting_user,
                makerspace_id=material.makerspace_id,
                clean=None,
            )
    except IntegrityError:
        raise _name_taken(changes.get("name")) from None
    return material


def fabrication_material_delete(*, material: FabricationMaterial, acting_user: User) -> None:
    """A line that jobs were quoted with is deactivated (the jobs keep it); any other
    is deleted."""
    require_makerspace_permission(
        acting_user,
        material.makerspace_id,
        access.PRICE_LIST_PERMISSION,
        message="Only the makerspace's staff keep its price list.",
    )
    with transaction.atomic():
        material = FabricationMaterial.objects.select_for_update().get(pk=material.pk)
        kept = material.jobs.exists()
        audit_record(
            actor=acting_user,
            instance=material,
            action=Action.DELETE,
            makerspace_id=material.makerspace_id,
            changes={"name": material.name, "kept_for_records": kept},
        )
        if kept:
            material.is_active = False
            material.save(update_fields=["is_active", "updated_at"])
        else:
            material.delete()


# --- quotes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FabricationQuote:
    """What printing a model costs: ``unit_price`` a piece, and the whole quote
    (``price_per_cm3 × volume × quantity + setup_fee``, rounded half up to cents)."""

    material: FabricationMaterial
    measure: ModelMeasure
    quantity: int
    fits_printer: bool
    unit_price: Decimal
    setup_fee: Decimal
    quote_amount: Decimal
    currency: str


def _mm(side: Decimal) -> str:
    return str(Decimal(side).quantize(CENTS, rounding=ROUND_HALF_UP))


def _axes(sides: tuple[Decimal, Decimal, Decimal]) -> dict[str, str]:
    return {axis: _mm(side) for axis, side in zip("xyz", sides, strict=True)}


def quote_for(
    *, material: FabricationMaterial, measure: ModelMeasure, quantity: int
) -> FabricationQuote:
    """The quote for ``quantity`` prints of a measured model; 400 MODEL_DOES_NOT_FIT
    when the model fits the material's printer in no orientation."""
    build = (material.build_x_mm, material.build_y_mm, material.build_z_mm)
    if not fits_build_volume(measure.size_mm, build):
        message = (
            f"The model ({' × '.join(_mm(side) for side in measure.size_mm)} mm) does not fit "
            f"the build volume of {material.printer_name} "
            f"({' × '.join(_mm(axis) for axis in build)} mm) in any orientation."
        )
        raise ApplicationError(
            "MODEL_DOES_NOT_FIT",
            message,
            details={
                "file": [message],
                "model_mm": _axes(measure.size_mm),
                "build_mm": _axes(build),
            },
        )
    per_piece = material.price_per_cm3 * measure.volume_cm3
    unit_price = _money(per_piece)
    setup_fee = _money(material.setup_fee)
    quote_amount = _money(per_piece * quantity + material.setup_fee)
    if unit_price > MAX_UNIT_PRICE or quote_amount > MAX_MONEY:
        raise validation_error("quantity", "This quote is larger than MakrX can take as an order.")
    return FabricationQuote(
        material=material,
        measure=measure,
        quantity=quantity,
        fits_printer=True,
        unit_price=unit_price,
        setup_fee=setup_fee,
        quote_amount=quote_amount,
        currency=material.currency,
    )


def _check_quantity(quantity: Any) -> int:
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not (1 <= quantity <= MAX_QUANTITY)
    ):
        raise validation_error("quantity", f"A whole number from 1 to {MAX_QUANTITY}.")
    return quantity


def _orderable_material(makerspace: Makerspace, material: FabricationMaterial) -> None:
    if not makerspace.is_active:
        raise validation_error("makerspace", "This makerspace takes no orders.")
    if material.makerspace_id != makerspace.pk or not material.is_active:
        raise validation_error("material", "No such material on this makerspace's price list.")


def _require_orderer(acting_user: User, makerspace: Makerspace) -> None:
    if not is_signed_in(acting_user):
        raise permission_denied("Sign in first.")
    require_makerspace_permission(
        acting_user,
        makerspace,
        access.ORDER_PERMISSION,
        message="Join this makerspace to order prints from it.",
    )


def fabrication_quote(
    *,
    makerspace: Makerspace,
    material: FabricationMaterial,
    filename: str,
    data: bytes,
    quantity: int,
    acting_user: User,
) -> FabricationQuote:
    """A quote for an uploaded model; nothing is stored."""
    _require_orderer(acting_user, makerspace)
    _orderable_material(makerspace, material)
    quantity = _check_quantity(quantity)
    measure = measure_model(filename=filename, data=data)
    return quote_for(material=material, measure=measure, quantity=quantity)


def display_filename(filename: str) -> str:
    """The name a member's file is shown by: no directories, no control characters.
    (It is never a storage path: files are stored under the job's id.)"""
    name = os.path.basename(str(filename).replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = f"{stem[: 199 - len(extension)]}{dot}{extension}" if dot else name[:200]
    return name or "model"


def fabrication_job_create(
    *,
    makerspace: Makerspace,
    material: FabricationMaterial,
    filename: str,
    data: bytes,
    quantity: int,
    acting_user: User,
    notes: str = "",
) -> FabricationJob:
    """A quoted job for the member: the model is measured and priced, then stored."""
    quote = fabrication_quote(
        makerspace=makerspace,
        material=material,
        filename=filename,
        data=data,
        quantity=quantity,
        acting_user=acting_user,
    )
    measure = quote.measure
    job = FabricationJob(
        makerspace=makerspace,
        user=acting_user,
        material=material,
        original_filename=display_filename(filename),
        quantity=quote.quantity,
        volume_cm3=measure.volume_cm3,
        size_x_mm=measure.size_x_mm,
        size_y_mm=measure.size_y_mm,
        size_z_mm=measure.size_z_mm,
        fits_printer=quote.fits_printer,
        unit_price=quote.unit_price,
        setup_fee=quote.setup_fee,
        quote_amount=quote.quote_amount,
        currency=quote.currency,
        notes=str(notes or "")[:2000],
    )
    # The file goes to the storage first (it may be S3, outside the transaction); if
    # the row is not written after all, the file is removed again.
    job.model_file.save(f"model.{measure.file_type}", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            job.save(force_insert=True)
            audit_record(
                actor=acting_user,
                instance=job,
                action=Action.CREATE,
                makerspace_id=makerspace.pk,
                changes={
                    "material": material,
                    "quantity": job.quantity,
                    "volume_cm3": job.volume_cm3,
                    "quote_amount": job.quote_amount,
                },
            )
    except BaseException:
        job.model_file.delete(save=False)
        raise
    return job


# --- accepting a quote -----------------------------------------------------------------


@dataclass(frozen=True)
class FabricationOrder:
    """A quote the member accepted: the job, its store order and payment, and what
    the payment provider answered (``payments.payment_begin``)."""

    job: FabricationJob
    order: Order
    payment: Payment
    payment_answer: dict[str, Any]


def _tax_rate() -> Decimal:
    """The store's tax rate for orders without a market, in percent (``STORE_TAX_RATE``;
    0 when none is set)."""
    try:
        rate = Decimal(str(getattr(settings, "STORE_TAX_RATE", 0) or 0))
    except ArithmeticError:
        return Decimal(0)
    return rate if 0 <= rate <= 100 else Decimal(0)


def _unpaid_minutes() -> int:
    return int(getattr(settings, "STORE_UNPAID_ORDER_MINUTES", 30))


def fabrication_job_accept(
    *,
    job: FabricationJob,
    acting_user: User,
    shipping_method: str = ShippingMethod.PICKUP,
    shipping_address: dict[str, Any] | None = None,
    billing_address: dict[str, Any] | None = None,
) -> FabricationOrder:
    """The member accepts their quote: one store order (no market: the makerspace
    prints it) with the job as its only line, and its payment; the job is ``ordered``.

    Shipped prints need a shipping address (checked as checkout checks addresses).
    The payment provider is asked after the commit, outside any lock, as checkout
    does; the member then pays as for any store order. A quote whose order was
    cancelled cannot be ordered again (409 QUOTE_USED): its model is uploaded anew.
    """
    from apps.store import stripe_gateway
    from apps.store.services import payments
    from apps.store.services.checkout import clean_address

    if not (is_signed_in(acting_user) and job.user_id == acting_user.pk):
        raise permission_denied("Only the member who asked for the quote accepts it.")
    if shipping_method not in (ShippingMethod.PICKUP, ShippingMethod.SHIPPING):
        raise validation_error(
            "shipping_method", "A print is picked up at the makerspace or shipped."
        )
    shipping: dict[str, Any] = {}
    if shipping_method == ShippingMethod.SHIPPING:
        if not shipping_address:
            raise validation_error("shipping_address", "A shipped print needs an address.")
        shipping = clean_address(shipping_address, field_name="shipping_address")
    # Billed where it is shipped unless the member says otherwise.
    billing = (
        clean_address(billing_address, field_name="billing_address")
        if billing_address
        else dict(shipping)
    )
    provider = PaymentProvider.STRIPE if stripe_gateway.is_enabled() else PaymentProvider.TEST
    with transaction.atomic():
        job = (
            FabricationJob.objects.select_for_update(of=("self",))
            .select_related("makerspace", "user")
            .get(pk=job.pk)
        )
        if job.status != Status.QUOTED:
            raise ConflictError(
                "INVALID_STATE",
                f"Only a quoted job can be accepted; this one is {job.status}.",
                details={"current": job.status},
            )
        if OrderItem.objects.filter(fabrication_job=job).exists():
            raise ConflictError(
                "QUOTE_USED",
                "This quote was ordered before and that order was cancelled; upload the "
                "model again for a new quote.",
                details={"current": job.status},
            )
        subtotal = job.quote_amount
        tax = _money(subtotal * _tax_rate() / 100)
        total = subtotal + tax
        payment = Payment.objects.create(
            user=job.user, provider=provider, amount=total, currency=job.currency
        )
        order = Order(
            user=job.user,
            market=None,
            payment=payment,
            subtotal=subtotal,
            tax_amount=tax,
            shipping_amount=Decimal("0.00"),
            total_amount=total,
            currency=job.currency,
            shipping_address=shipping,
            billing_address=billing,
            shipping_method=shipping_method,
            expires_at=timezone.now() + timedelta(minutes=_unpaid_minutes()),
            locale=job.user.locale,
        )
        order_save_numbered(order)
        # One line for the whole job: its total is the quote, setup fee included, so
        # the order adds up to what the member was quoted.
        OrderItem.objects.create(
            order=order,
            fabrication_job=job,
            name=f"3D print: {job.original_filename}"[:200],
            unit_price=job.unit_price,
            quantity=job.quantity,
            line_total=job.quote_amount,
        )
        job.status = Status.ORDERED
        job.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=acting_user,
            instance=job,
            action=Action.UPDATE,
            makerspace_id=job.makerspace_id,
            changes={"status": [Status.QUOTED, Status.ORDERED], "order": order.order_number},
        )
    answer = payments.payment_begin(payment=payment)
    payment.refresh_from_db()
    return FabricationOrder(job=job, order=order, payment=payment, payment_answer=answer)


# --- moving a job ----------------------------------------------------------------------


def _order_is_paid(order: Order | None) -> bool:
    return order is not None and order.payment_status in PAID_STATES


def _member_may_cancel(job: FabricationJob, order: Order | None) -> bool:
    if job.status == Status.QUOTED:
        return True
    return job.status == Status.ORDERED and not _order_is_paid(order)


def _staff_moves(job: FabricationJob, order: Order | None) -> list[str]:
    """Staff's moves from here: accepting waits for the payment; a print the member
    picks up is never shipped, and one sent by post is shipped, not picked up."""
    moves = list(STAFF_MOVES[job.status])
    if Status.ACCEPTED in moves and not _order_is_paid(order):
        moves.remove(Status.ACCEPTED)
    method = order.shipping_method if order is not None else ShippingMethod.PICKUP
    if method == ShippingMethod.SHIPPING and Status.PICKED_UP in moves:
        moves.remove(Status.PICKED_UP)
    if method != ShippingMethod.SHIPPING and Status.SHIPPED in moves:
        moves.remove(Status.SHIPPED)
    return moves


def allowed_moves(job: FabricationJob, user: Any) -> list[str]:
    """The states ``user`` may move ``job`` to now (for pages, and 409 details)."""
    order = access.order_of(job)
    if access.may_run_jobs(user, job.makerspace_id):
        return _staff_moves(job, order)
    if is_signed_in(user) and job.user_id == user.pk and _member_may_cancel(job, order):
        return [Status.CANCELLED]
    return []


def _cancel_order(order: Order, *, job: FabricationJob, staff: bool) -> None:
    """Cancel the store order of a job being cancelled, through the orders' own
    services, which also set the job's status as they cancel.

    The member cancels as the buyer, which the orders allow only while unpaid, so a
    payment that has just come in stops it. Staff cancel through
    ``order_cancel_and_refund``: whatever was paid goes back. The makerspace's staff do
    not run the central catalogue's orders, so the system acts for them there; the
    job's own audit entry names who cancelled."""
    from apps.accounts.system import system_actor
    from apps.store.services import cancellations, orders

    if staff:
        cancellations.order_cancel_and_refund(
            order=order, acting_user=system_actor(), reason=CANCEL_REASON
        )
    else:
        orders.order_cancel(order=order, acting_user=job.user, reason=CANCEL_REASON)


def _order_follows(job: FabricationJob, order: Order | None) -> None:
    """Move the job's store order along (processing, shipped, delivered), so the
    member's order history tells what the print queue does. The job is what staff
    work on; an order that cannot follow (refunded meanwhile) is left as it is."""
    target = ORDER_FOLLOWS.get(job.status)
    if order is None or target is None:
        return
    from apps.accounts.system import system_actor
    from apps.store.services import orders

    try:
        orders.order_transition(
            order=order,
            to=target,
            acting_user=system_actor(),
            tracking_number=job.tracking_number,
        )
    except ApplicationError as error:
        logger.warning(
            "Order %s did not follow fabrication job %s to %s: %s",
            order.order_number,
            job.pk,
            target,
            error.message,
        )


def _illegal_move(job: FabricationJob, to: str, allowed: list[str]) -> ConflictError:
    return ConflictError(
        "INVALID_STATE",
        f"A job that is {job.status} cannot become {to}.",
        details={"current": job.status, "requested": to, "allowed": allowed},
    )


def fabrication_job_transition(
    *, job: FabricationJob, to: str, acting_user: User, tracking_number: str = ""
) -> FabricationJob:
    """Move a job on: staff accept a paid job, print it, have it ready, and ship it
    (with a tracking number) or hand it over; staff cancel any open job (a paid one is
    refunded), the member only their own while it is quoted or unpaid. An illegal move
    answers 409 INVALID_STATE with ``details.current``; accepting an unpaid job 409
    NOT_PAID. The job's store order follows (processing, shipped, delivered)."""
    if to not in Status.values or to in (Status.QUOTED, Status.ORDERED):
        raise validation_error(
            "to",
            "Move a job to accepted, printing, ready, shipped, picked_up or cancelled.",
        )
    tracking_number = str(tracking_number or "").strip()
    if len(tracking_number) > 100:
        raise validation_error("tracking_number", "At most 100 characters.")
    if not is_signed_in(acting_user):
        raise permission_denied("Sign in first.")
    staff = access.may_run_jobs(acting_user, job.makerspace_id)
    owner = job.user_id == acting_user.pk
    if not staff and not (owner and to == Status.CANCELLED):
        raise permission_denied("Only the makerspace's staff move print jobs.")

    job.refresh_from_db()
    order = access.order_of(job)
    moves = _staff_moves(job, order) if staff else []
    if not staff and _member_may_cancel(job, order):
        moves = [Status.CANCELLED]
    if to not in moves:
        if to == Status.ACCEPTED and job.status == Status.ORDERED and staff:
            raise ConflictError(
                "NOT_PAID",
                "The member has not paid for this print yet.",
                details={
                    "current": job.status,
                    "payment_status": order.payment_status if order else None,
                },
            )
        raise _illegal_move(job, to, moves)
    if to == Status.SHIPPED and not tracking_number:
        raise validation_error("tracking_number", "A shipped print needs its tracking number.")
    previous = job.status
    if to == Status.CANCELLED and order is not None and order.status != OrderStatus.CANCELLED:
        # The order goes first, by its own rules; it sets the job's status as it
        # cancels.
        _cancel_order(order, job=job, staff=staff)

    with transaction.atomic():
        job = (
            FabricationJob.objects.select_for_update(of=("self",))
            .select_related("makerspace", "user")
            .get(pk=job.pk)
        )
        cancelled_with_order = to == Status.CANCELLED and job.status != previous
        if job.status != previous and not cancelled_with_order:
            # Another move came first: say where the job stands now.
            raise _illegal_move(job, to, _staff_moves(job, access.order_of(job)))
        changes: dict[str, Any] = {"status": to}
        if to == Status.SHIPPED:
            changes["tracking_number"] = tracking_number
        job.status = previous
        update_audited(
            job,
            changes=changes,
            actor=acting_user,
            makerspace_id=job.makerspace_id,
            clean=None,
        )
        if to in EMAILED_STATES:
            job_id, state = str(job.pk), str(to)
            transaction.on_commit(lambda: send_fabrication_status_email.delay(job_id, state))
    _order_follows(job, order)
    return job
