"""The API answers what its OpenAPI schema says, for every operation.

A live server is seeded with one makerspace and everything in it; schemathesis then
sends each operation schema-valid and schema-invalid requests, with the real ids of
the seeded rows in the path, as a member and as a manager of that space, and runs all
of its default checks on each answer (no server error, documented status code,
content type, headers and body, invalid data refused, valid data accepted, ...). Only
the operations of REFUSABLE_WHEN_VALID may refuse valid data, each for a rule named there.

The examples per operation are bounded and derandomized, so a run is repeatable and
takes about three minutes on two cores.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import hypothesis
import pytest
import requests
import schemathesis
import time_machine
from hypothesis import HealthCheck, Phase, given
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from apps.accounts.models import User
from apps.equipment.services.reservations import reservation_create
from apps.inventory.services import stock_restock
from apps.makerspaces.hours import WEEKDAYS
from apps.projects.services import (
    bom_line_add,
    collaborator_add,
    project_create,
    project_reservation_link,
)
from tests.factories import (
    ClosureFactory,
    EquipmentFactory,
    InventoryItemFactory,
    InvitationFactory,
    MakerspaceFactory,
    MembershipFactory,
    SkillFactory,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

# Examples per operation and generation mode: 3 valid and 3 invalid requests for each
# of the ~110 operations, for each of the two callers (each example also sends the
# checks' own follow-up requests), which keeps the module near three minutes.
EXAMPLES_PER_OPERATION = 3
# A Tuesday in winter, far from any clock change in Kyiv.
NOW = datetime(2026, 2, 10, 8, 0, tzinfo=UTC)
KYIV = ZoneInfo("Europe/Kyiv")
ALWAYS_OPEN = {day: [["00:00", "24:00"]] for day in WEEKDAYS}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"

# Operations whose schema-valid requests the server may still refuse with 400, by a rule
# the schema cannot state: one that depends on rows in the database or ties two fields
# together. For these alone the "valid data is accepted" check also takes a 400; every
# other check stays on for them, and every other operation must accept valid data.
REFUSABLE_WHEN_VALID = (
    "makerspaces_list",  # radius_km is taken only together with near
    "makerspaces_create",  # opening windows close after they open and do not overlap
    "makerspaces_update",  # opening windows close after they open and do not overlap
    "makerspaces_partial_update",  # opening windows close after they open and do not overlap
    "makerspaces_equipment_available_list",  # end after start
    "makerspaces_equipment_waitlist_create",  # end after start; the slot must be taken
    "makerspaces_equipment_create",  # skill_requirements name skills the space has
    "makerspaces_equipment_update",  # skill_requirements name skills the space has
    "makerspaces_equipment_partial_update",  # skill_requirements name skills the space has
    "makerspaces_inventory_create",  # an SKU is unique within the space
    "makerspaces_inventory_update",  # an SKU is unique within the space
    "makerspaces_inventory_partial_update",  # an SKU is unique within the space
    "makerspaces_inventory_deduct_create",  # stock covers it; project is one of the space's
    "makerspaces_inventory_restock_create",  # purchase_order is one of the space's orders
    "makerspaces_inventory_import_create",  # the file is UTF-8 CSV, known columns, valid rows
    "makerspaces_inventory_movements_list",  # a cursor is one the list gave out (signed)
    "makerspaces_members_skills_create",  # skill is a skill of the space
    "makerspaces_skills_instructors_create",  # membership is a membership of the space
    "makerspaces_skills_partial_update",  # a skill's slug names it in URLs: it cannot change
    "makerspaces_projects_bom_create",  # item is an active item of the space's inventory
    "makerspaces_projects_bom_consume_create",  # stock covers every line
    "makerspaces_projects_collaborators_create",  # user or email names a member of the space
    "makerspaces_projects_reservations_create",  # reservation is a booking of the space
    "makerspaces_purchase_orders_create",  # item is an item of the space
    "makerspaces_reservations_create",  # a machine of the space; end after start; the rules
    "makerspaces_reservations_recurring_create",  # a machine of the space; end after start
    "makerspaces_reservations_recurring_preview_create",  # a machine of the space; end > start
    "makerspaces_reservations_check_out_create",  # materials are items of the space, in stock
    "store_markets_create",  # opening windows close after they open; a space the caller runs
    "store_markets_partial_update",  # opening windows close after they open; the caller's space
    "store_products_create",  # category and market exist; sale_price below price; SKU unique
    "store_products_partial_update",  # category exists; sale_price below price; SKU unique
    "store_cart_items_create",  # the product exists, is for sale and in stock
    "store_cart_items_partial_update",  # the product is in stock for the new quantity
    "store_cart_from_bom_create",  # project is a project the caller can see
    "store_cart_voucher_create",  # the code names a live voucher the cart qualifies for
    "store_checkout_create",  # the cart holds products; the market offers the delivery
    "store_fabrication_create",  # the file is a printable model; material of the space
    "store_fabrication_quote_create",  # the file is a printable model; material of the space
    "users_logout",  # a refresh token or all: true; a request sent without a body names neither
    "users_me_password",  # current_password is the caller's; the new one passes the rules
    "users_register",  # the email is free; the password passes the password rules
    "users_password_reset_confirm",  # uid and token are a live link; the password rules
    "users_verify_email",  # token is a live verification link
)
# The check's own default statuses for valid data, and 400.
ACCEPTED_OR_REFUSED = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]


@dataclass
class Seeded:
    member: User
    manager: User
    path_ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def pinned_now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def generous_throttles(settings) -> None:
    # Hundreds of requests a minute from one caller are the point here, not abuse.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(
            settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/min"
        ),
    }


@pytest.fixture
def seeded(pinned_now: None) -> Seeded:
    """A space with a manager, a member, a machine, a booking, stock and a project."""
    space = MakerspaceFactory.create(timezone="Europe/Kyiv", business_hours=ALWAYS_OPEN)
    manager_membership = MembershipFactory.create(makerspace=space, role="manager")
    member_membership = MembershipFactory.create(makerspace=space, role="member")
    manager, member = manager_membership.user, member_membership.user
    skill = SkillFactory.create(makerspace=space, slug="laser-basic")
    machine = EquipmentFactory.create(makerspace=space)
    item = InventoryItemFactory.create(makerspace=space)
    stock_restock(item=item, quantity=Decimal("50"), acting_user=manager)
    closure = ClosureFactory.create(makerspace=space)
    invitation = InvitationFactory.create(makerspace=space)
    start = datetime(2026, 2, 11, 10, 0, tzinfo=KYIV)
    reservation = reservation_create(
        equipment=machine,
        user=member,
        start=start,
        end=start + timedelta(hours=1),
        acting_user=member,
    )
    project = project_create(makerspace=space, owner=member, name="Lamp", acting_user=member)
    line = bom_line_add(project=project, item=item, quantity=Decimal("2"), acting_user=member)
    collaborator = collaborator_add(
        project=project, user=manager, role="editor", acting_user=member
    )
    link = project_reservation_link(project=project, reservation=reservation, acting_user=member)
    ids = {
        "makerspace_pk": str(space.pk),
        "project_pk": str(project.pk),
        "slug": skill.slug,
        # `{id}` names a different row on each route: keyed by the segment before it.
        "id:makerspaces": str(space.pk),
        "id:equipment": str(machine.pk),
        "id:inventory": str(item.pk),
        "id:members": str(member_membership.pk),
        "id:closures": str(closure.pk),
        "id:invitations": str(invitation.pk),
        "id:projects": str(project.pk),
        "id:bom": str(line.pk),
        "id:collaborators": str(collaborator.pk),
        "id:reservations": str(link.pk),
        "id:reservations:space": str(reservation.pk),
        "id:purchase-orders": UNKNOWN_ID,
        # A market's closure and staff member (store routes; no market is seeded).
        "closure_id": UNKNOWN_ID,
        "user_id": UNKNOWN_ID,
        # A product's image and a cart line (none seeded).
        "image_id": UNKNOWN_ID,
        "item_id": UNKNOWN_ID,
    }
    return Seeded(member=member, manager=manager, path_ids=ids)


def _path_parameters(path: str, ids: dict[str, str]) -> dict[str, str]:
    segments = path.strip("/").split("/")
    chosen = {}
    for index, segment in enumerate(segments):
        if not segment.startswith("{"):
            continue
        name = segment.strip("{}")
        if name != "id":
            chosen[name] = ids[name]
            continue
        collection = segments[index - 1]
        is_space_booking = collection == "reservations" and "{project_pk}" not in segments
        key = "id:reservations:space" if is_space_booking else f"id:{collection}"
        chosen[name] = ids.get(key, UNKNOWN_ID)
    return chosen


def _ordered(schema: Any) -> list[Any]:
    """Reads and edits first, then removals, so a DELETE does not hide the rest."""
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))


def _failure_title(error: BaseException) -> str:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first_line}"[:300]


def _config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            # Every string property of the schema refuses NUL (its pattern), but OpenAPI
            # 3.0 cannot constrain the keys of an object: keys the schema leaves free
            # (free-form JSON, bodies that ignore unknown fields) would carry NUL, which
            # the parser refuses anywhere in a body.
            "generation": {"allow-x00": False},
            "operations": [
                {
                    "include-operation-id": operation_id,
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": ACCEPTED_OR_REFUSED}
                    },
                }
                for operation_id in REFUSABLE_WHEN_VALID
            ],
        }
    )


def _run(operation: Any, base_url: str, token: str, path_ids: dict[str, str]) -> list[str]:
    """Every failure of one operation, as readable lines (at most one per distinct title)."""
    failures: dict[str, str] = {}
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}
    path_parameters = _path_parameters(operation.path, path_ids)

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def exercise(case: Any) -> None:
            label = f"{operation.method.upper()} {operation.path} [{mode}]"
            try:
                case.call_and_validate(base_url=base_url, session=session, headers=headers)
            except FailureGroup as group:
                for failure in group.exceptions:
                    failures.setdefault(f"{label} {failure.title}", str(group))
            except Exception as error:  # a failure that is not a check's is listed too
                failures.setdefault(f"{label} {_failure_title(error)}", str(error))

        # Unsatisfiable: nothing to make invalid (no parameters, no body).
        with contextlib.suppress(hypothesis.errors.Unsatisfiable):
            exercise()
    return [f"{title}\n{detail}" for title, detail in failures.items()]


@pytest.mark.parametrize("role", ["member", "manager"])
def test_every_operation_answers_as_its_schema_says(
    live_server, seeded: Seeded, generous_throttles: None, role: str
) -> None:
    # Given the schema the live server serves, and a caller of the seeded space
    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/schema/?format=json", config=_config()
    )
    caller = seeded.member if role == "member" else seeded.manager
    token = str(RefreshToken.for_user(caller).access_token)

    # When every operation is sent valid and invalid requests with real ids
    failures: list[str] = []
    for operation in _ordered(schema):
        failures.extend(_run(operation, live_server.url, token, seeded.path_ids))

    # Then no check failed anywhere
    assert failures == [], f"{len(failures)} failure(s):\n\n" + "\n\n".join(failures)
