"""Writing vouchers: a super admin makes store-wide ones (``market`` null) and any
market's; a market's owner and staff make and change their market's. Checkout reads
and counts them (``services.checkout``); here they are only written.

Codes are stored in capitals and are unique without regard to case, as checkout
finds them. ``times_used`` is checkout's counter and is never written here, and a
limit is never lowered below the uses already counted. A voucher that was ever used
is deactivated rather than deleted, so its redemptions and orders keep it.
"""

import re
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from apps.accounts.models import User
from apps.core.audit import audit_record, update_audited
from apps.core.exceptions import ApplicationError, permission_denied, validation_error
from apps.core.models import AuditLogEntry
from apps.store import permissions
from apps.store.models import Market, Voucher, VoucherKind
from apps.store.services import _full_clean, _unknown

Action = AuditLogEntry.Action

VOUCHER_FIELDS = (
    "code",
    "kind",
    "value",
    "valid_from",
    "valid_until",
    "minimum_order",
    "max_uses",
    "max_uses_per_user",
    "is_active",
)
CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,39}")


def _require_voucher_manager(user: Any, market: Market | Any) -> None:
    if not permissions.may_manage_products(user, market):
        if market is None:
            raise permission_denied("Only a super admin makes store-wide vouchers.")
        raise permission_denied("Only the market's owner and staff manage its vouchers.")


def _space_of(market_id: Any) -> Any:
    if market_id is None:
        return None
    return Market.objects.filter(pk=market_id).values_list("makerspace_id", flat=True).first()


def _clean_code(code: Any) -> str:
    text = code.strip().upper() if isinstance(code, str) else ""
    if not CODE_PATTERN.fullmatch(text):
        raise validation_error(
            "code",
            "3 to 40 letters, digits, dashes or underscores, starting with a letter or digit.",
        )
    return text


def _code_taken(code: str) -> ApplicationError:
    return validation_error("code", f"The code {code!r} is taken by another voucher.")


def _check(voucher: Voucher) -> None:
    """What the table's constraints hold, said before the write with a field's name."""
    if voucher.kind not in VoucherKind.values:
        raise validation_error("kind", f"Use one of {', '.join(VoucherKind.values)}.")
    value = Decimal(voucher.value)
    if voucher.kind == VoucherKind.PERCENT and not Decimal(0) < value <= Decimal(100):
        raise validation_error("value", "A percentage above 0 and at most 100.")
    if voucher.kind == VoucherKind.FIXED and value <= 0:
        raise validation_error("value", "An amount above 0.")
    if Decimal(voucher.minimum_order) < 0:
        raise validation_error("minimum_order", "The minimum order cannot be negative.")
    if (
        voucher.valid_from is not None
        and voucher.valid_until is not None
        and voucher.valid_until <= voucher.valid_from
    ):
        raise validation_error("valid_until", "The end of validity comes after its start.")
    for limit in ("max_uses", "max_uses_per_user"):
        if getattr(voucher, limit) is not None and getattr(voucher, limit) < 1:
            raise validation_error(limit, "At least 1, or empty for no limit.")
    if voucher.max_uses is not None and voucher.max_uses < voucher.times_used:
        raise validation_error(
            "max_uses", f"The voucher has been used {voucher.times_used} times already."
        )


def _check_code_free(code: str, *, exclude_pk: Any = None) -> None:
    if Voucher.objects.filter(code__iexact=code).exclude(pk=exclude_pk).exists():
        raise _code_taken(code)


def voucher_create(
    *, acting_user: User, market: Market | None, code: str, kind: str, value: Decimal, **fields: Any
) -> Voucher:
    """A voucher for ``market``'s products (its owner and staff), or store-wide
    (``market`` None: super admins)."""
    _unknown(fields, VOUCHER_FIELDS, "voucher")
    _require_voucher_manager(acting_user, market)
    code = _clean_code(code)
    voucher = Voucher(market=market, code=code, kind=kind, value=value, **fields)
    _full_clean(voucher)
    _check(voucher)
    try:
        with transaction.atomic():
            _check_code_free(code)
            voucher.save()
            audit_record(
                actor=acting_user,
                instance=voucher,
                action=Action.CREATE,
                makerspace_id=_space_of(voucher.market_id),
                changes={"code": code, "market": market, "kind": kind, "value": value},
            )
    except IntegrityError:
        raise _code_taken(code) from None
    return voucher


def voucher_update(*, voucher: Voucher, acting_user: User, changes: dict[str, Any]) -> Voucher:
    """Change a voucher's code, discount, validity or limits; its market never changes
    (a new voucher is made instead)."""
    _unknown(changes, VOUCHER_FIELDS, "voucher")
    _require_voucher_manager(acting_user, voucher.market_id)
    changes = dict(changes)
    if "code" in changes:
        changes["code"] = _clean_code(changes["code"])
    try:
        with transaction.atomic():
            # Checkout locks the voucher while it counts a use: the limit checked here
            # is against the uses as they stand.
            voucher = Voucher.objects.select_for_update(of=("self",)).get(pk=voucher.pk)
            originals = {field: getattr(voucher, field) for field in changes}
            for field, value in changes.items():
                setattr(voucher, field, value)
            _full_clean(voucher)
            _check(voucher)
            if "code" in changes:
                _check_code_free(changes["code"], exclude_pk=voucher.pk)
            for field, value in originals.items():
                setattr(voucher, field, value)
            update_audited(
                voucher,
                changes=changes,
                actor=acting_user,
                makerspace_id=_space_of(voucher.market_id),
                clean=None,
            )
    except IntegrityError:
        raise _code_taken(changes.get("code", voucher.code)) from None
    return voucher


def voucher_delete(*, voucher: Voucher, acting_user: User) -> None:
    """A voucher used at some checkout is deactivated (its redemptions and orders keep
    it); any other is deleted."""
    _require_voucher_manager(acting_user, voucher.market_id)
    with transaction.atomic():
        voucher = Voucher.objects.select_for_update(of=("self",)).get(pk=voucher.pk)
        kept = voucher.redemptions.exists() or voucher.orders.exists()
        audit_record(
            actor=acting_user,
            instance=voucher,
            action=Action.DELETE,
            makerspace_id=_space_of(voucher.market_id),
            changes={"code": voucher.code, "kept_for_records": kept},
        )
        if kept:
            voucher.is_active = False
            voucher.save(update_fields=["is_active", "updated_at"])
        else:
            voucher.delete()
