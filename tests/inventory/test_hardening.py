"""Inventory at its edges: quantities past what the ledger can hold, CSV files that are
too large or not CSV text, and the project a deduction names. Each is refused with a
4xx in the error envelope and writes nothing."""

import csv
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.inventory import project_links, services
from apps.inventory.models import (
    InventoryItem,
    MovementKind,
    PurchaseOrder,
    PurchaseOrderStatus,
    StockMovement,
)
from apps.makerspaces.models import Makerspace
from apps.projects import services as project_services
from apps.projects.models import CollaboratorRole, Project, ProjectPrivacy
from tests.concurrency.helpers import run_together
from tests.factories import MakerspaceFactory, MembershipFactory
from tests.inventory.support import (
    client_for,
    item_url,
    items_url,
    ledger_sum,
    stock_of,
    stocked_item,
)

pytestmark = pytest.mark.django_db

MAXIMUM = "99999999999.999"  # numeric(14, 3)
NEAR_THE_TOP = Decimal("99999999990")


@pytest.fixture
def space() -> Makerspace:
    return MakerspaceFactory.create(name="Kyiv Lab", slug="kyiv-lab")


@pytest.fixture
def manager(space: Makerspace) -> User:
    return MembershipFactory.create(makerspace=space, role="manager").user


@pytest.fixture
def staff(manager: User) -> APIClient:
    return client_for(manager)


def error_of(response: Any) -> dict[str, Any]:
    return response.json()["error"]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def assert_names_the_maximum(response: Any, field: str) -> None:
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert MAXIMUM in error["message"]
    assert any(MAXIMUM in problem for problem in error["details"][field])


# --- quantities past what the ledger holds ------------------------------------------------


def test_a_restock_that_would_overflow_the_stock_answers_400_and_writes_nothing(
    space: Makerspace, staff: APIClient
) -> None:
    item = stocked_item(space, stock=NEAR_THE_TOP)

    response = staff.post(item_url(item, "restock"), {"quantity": "20"})

    assert_names_the_maximum(response, "quantity")
    assert stock_of(item) == NEAR_THE_TOP
    assert item.movements.count() == 1


def test_a_restock_up_to_the_maximum_itself_is_taken(space: Makerspace, staff: APIClient) -> None:
    item = stocked_item(space, stock=NEAR_THE_TOP)

    response = staff.post(item_url(item, "restock"), {"quantity": "9.999"})

    assert response.status_code == 200
    assert response.json()["new_stock"] == MAXIMUM
    assert stock_of(item) == ledger_sum(item) == Decimal(MAXIMUM)


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        pytest.param("restock", {"quantity": "100000000000"}, "quantity", id="restock"),
        pytest.param(
            "adjust", {"new_stock": "100000000000", "reason": "Count"}, "new_stock", id="adjust"
        ),
        pytest.param(
            "deduct", {"quantity": "1e15", "reason": "Job"}, "quantity", id="absurd deduction"
        ),
        pytest.param("restock", {"quantity": "1e1000000"}, "quantity", id="huge exponent"),
    ],
)
def test_a_quantity_larger_than_the_ledger_holds_is_refused(
    space: Makerspace, staff: APIClient, action: str, body: dict[str, str], field: str
) -> None:
    item = stocked_item(space, stock=5)

    response = staff.post(item_url(item, action), body)

    assert_names_the_maximum(response, field)
    assert stock_of(item) == Decimal("5")
    assert item.movements.count() == 1


def test_an_opening_stock_larger_than_the_ledger_holds_is_refused(
    space: Makerspace, staff: APIClient
) -> None:
    response = staff.post(
        items_url(space), {"name": "Sand", "sku": "SAND-1", "current_stock": "1000000000000"}
    )

    assert_names_the_maximum(response, "current_stock")
    assert not InventoryItem.objects.exists()
    assert not StockMovement.objects.exists()


def test_receiving_an_order_that_would_overflow_leaves_the_order_open(
    space: Makerspace, manager: User, staff: APIClient
) -> None:
    item = stocked_item(space, stock=NEAR_THE_TOP)
    order = services.purchase_order_create(item=item, quantity=Decimal("50"), acting_user=manager)

    response = staff.post(
        item_url(item, "restock"), {"quantity": "50", "purchase_order": str(order.pk)}
    )

    assert_names_the_maximum(response, "quantity")
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.OPEN
    assert stock_of(item) == NEAR_THE_TOP


@pytest.mark.parametrize(
    ("call", "field"),
    [
        pytest.param(
            lambda item, user: services.stock_restock(
                item=item, quantity=Decimal("1e12"), acting_user=user
            ),
            "quantity",
            id="restock",
        ),
        pytest.param(
            lambda item, user: services.stock_adjust(
                item=item, new_stock=Decimal("1e12"), reason="Count", acting_user=user
            ),
            "new_stock",
            id="adjust",
        ),
        pytest.param(
            lambda item, user: services.stock_deduct(
                item=item, quantity=Decimal("1e12"), reason="Job", acting_user=user
            ),
            "quantity",
            id="deduct",
        ),
        pytest.param(
            lambda item, user: services.item_create(
                makerspace=item.makerspace,
                acting_user=user,
                name="Sand",
                sku="SAND-1",
                opening_stock=Decimal("1e12"),
            ),
            "current_stock",
            id="create",
        ),
    ],
)
def test_the_services_refuse_quantities_past_the_column_whoever_calls_them(
    space: Makerspace, manager: User, call: Any, field: str
) -> None:
    item = stocked_item(space, stock=5)

    with pytest.raises(ApplicationError) as refused:
        call(item, manager)

    assert refused.value.code == "VALIDATION_ERROR"
    assert MAXIMUM in refused.value.message
    assert MAXIMUM in refused.value.details[field][0]
    assert stock_of(item) == Decimal("5")
    assert StockMovement.objects.count() == 1


def test_the_restock_page_shows_an_overflow_on_its_form(space: Makerspace, manager: User) -> None:
    item = stocked_item(space, stock=NEAR_THE_TOP)
    url = reverse("inventory:restock", kwargs={"slug": space.slug, "item_id": item.pk})

    response = signed_in(manager).post(url, {"restock-quantity": "20", "restock-note": ""})

    assert response.status_code == 400
    assert MAXIMUM in " ".join(response.context["restock_form"].errors["quantity"])
    assert MAXIMUM in response.content.decode()
    assert stock_of(item) == NEAR_THE_TOP
    assert item.movements.count() == 1


def test_the_count_page_shows_an_overflow_on_its_form(space: Makerspace, manager: User) -> None:
    item = stocked_item(space, stock=5)
    url = reverse("inventory:adjust", kwargs={"slug": space.slug, "item_id": item.pk})

    response = signed_in(manager).post(
        url, {"adjust-new_stock": "100000000000", "adjust-reason": "Count"}
    )

    assert response.status_code == 400
    assert "new_stock" in response.context["adjust_form"].errors
    assert stock_of(item) == Decimal("5")


def test_the_admin_restock_action_reports_an_overflow_and_writes_nothing(
    space: Makerspace, manager: User
) -> None:
    full = stocked_item(space, stock=NEAR_THE_TOP)
    room = stocked_item(space, stock=1)

    response = signed_in(manager).post(
        reverse("admin:inventory_inventoryitem_changelist"),
        {
            "action": "restock_selected",
            "_selected_action": [str(full.pk), str(room.pk)],
            "apply": "yes",
            "quantity": "20",
            "note": "",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert any(MAXIMUM in message for message in messages_of(response))
    assert stock_of(full) == NEAR_THE_TOP
    assert full.movements.count() == 1
    assert stock_of(room) == Decimal("21")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_restocks_that_fit_alone_cannot_overflow_together() -> None:
    space = MakerspaceFactory.create()
    manager = MembershipFactory.create(makerspace=space, role="manager").user
    item = stocked_item(space, stock=NEAR_THE_TOP, acting_user=manager)
    url = item_url(item, "restock")

    def restock(index: int) -> int:
        return client_for(manager).post(url, {"quantity": "6"}).status_code

    statuses = run_together(2, restock)

    assert Counter(statuses) == {200: 1, 400: 1}
    assert stock_of(item) == ledger_sum(item) == NEAR_THE_TOP + 6


# --- CSV files -----------------------------------------------------------------------------


def upload(content: bytes, name: str = "inventory.csv") -> dict[str, Any]:
    return {"file": SimpleUploadedFile(name, content, content_type="text/csv")}


def import_url(space: Makerspace, *, dry_run: bool = False) -> str:
    return items_url(space) + "import" + ("?dry_run=1" if dry_run else "")


def test_a_file_over_the_size_limit_answers_413_before_anything_is_written(
    space: Makerspace, staff: APIClient, settings: Any
) -> None:
    settings.CSV_IMPORT_MAX_BYTES = 1000
    rows = "".join(f"BIG-{number},Thing {number},1\n" for number in range(100))
    content = f"sku,name,current_stock\n{rows}".encode()
    assert len(content) > 1000

    response = staff.post(import_url(space), upload(content), format="multipart")

    assert response.status_code == 413
    assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"
    assert "1000 bytes" in error_of(response)["message"]
    assert not InventoryItem.objects.exists()


def test_a_body_far_over_the_limit_is_refused_on_its_declared_length(
    space: Makerspace, staff: APIClient, settings: Any
) -> None:
    settings.CSV_IMPORT_MAX_BYTES = 1000
    content = b"sku,name\n" + b"X-1,Thing\n" * 20_000

    response = staff.post(import_url(space), upload(content), format="multipart")

    assert response.status_code == 413
    assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"
    assert not InventoryItem.objects.exists()


def test_the_size_limit_defaults_to_five_megabytes(space: Makerspace, staff: APIClient) -> None:
    padding = "x" * 100_000
    rows = "".join(f"PAD-{number},Thing {number},{padding}\n" for number in range(53))
    content = f"sku,name,location\n{rows}".encode()
    assert len(content) > 5 * 1024 * 1024

    response = staff.post(import_url(space), upload(content), format="multipart")

    assert response.status_code == 413


BAD_FILES = [
    pytest.param(
        b"sku,name,location\nOK-1,Fine,A1\nLONG-1,Long," + b"x" * 131_073 + b"\n",
        "Line 3",
        id="a field over the csv field limit",
    ),
    pytest.param(b"sku,name\nOK-1,Fine\nNUL-1,Bad\x00name\n", "Line 3", id="a NUL byte in a cell"),
    pytest.param(b"sku,name\nOK-1,Fine\nBAD-1,Caf\xe9\n", "line 3", id="non-UTF-8 bytes"),
    pytest.param(b"", "empty", id="an empty file"),
    pytest.param(b"sku,name,current_stock\n", "no rows", id="only a header"),
    pytest.param(b"sku,name,qty\nOK-1,Fine,5\n", "'qty'", id="an unknown column"),
    pytest.param(b"sku,name,name\nOK-1,Fine,Again\n", "twice", id="a column given twice"),
    pytest.param(b"code,title\nOK-1,Fine\n", "Missing column", id="wrong headers"),
]


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "real run"])
@pytest.mark.parametrize(("content", "said"), BAD_FILES)
def test_a_file_that_is_not_usable_csv_answers_400_naming_the_problem(
    space: Makerspace, staff: APIClient, content: bytes, said: str, dry_run: bool
) -> None:
    response = staff.post(import_url(space, dry_run=dry_run), upload(content), format="multipart")

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert any(said in problem for problem in error["details"]["file"]), error
    assert not InventoryItem.objects.exists()
    assert not StockMovement.objects.exists()


def test_the_field_limit_is_the_csv_modules_own(space: Makerspace, staff: APIClient) -> None:
    content = b"sku,name,location\nLONG-1,Long," + b"x" * 131_073 + b"\n"

    response = staff.post(import_url(space), upload(content), format="multipart")

    assert str(csv.field_size_limit()) in error_of(response)["details"]["file"][0]


ADMIN_IMPORT = reverse("admin:inventory_inventoryitem_import")


@pytest.mark.parametrize(
    ("content", "said"),
    [
        pytest.param(b"sku,name\nNUL-1,Bad\x00name\n", "NUL", id="a NUL byte"),
        pytest.param(b"sku,name\n", "no rows", id="only a header"),
        pytest.param(
            b"sku,name,location\nLONG-1,Long," + b"x" * 131_073 + b"\n",
            "longer than",
            id="a field over the limit",
        ),
        pytest.param(b"sku,name,colour\nOK-1,Fine,red\n", "Unknown column", id="unknown column"),
    ],
)
def test_the_admin_import_shows_unusable_files_as_form_errors(
    space: Makerspace, manager: User, content: bytes, said: str
) -> None:
    response = signed_in(manager).post(
        ADMIN_IMPORT,
        {
            "makerspace": str(space.pk),
            "file": SimpleUploadedFile("stock.csv", content),
            "_import": "1",
        },
    )

    assert response.status_code == 200
    assert said in " ".join(response.context["form"].non_field_errors())
    assert not InventoryItem.objects.exists()


def test_the_admin_import_refuses_a_file_over_the_limit(
    space: Makerspace, manager: User, settings: Any
) -> None:
    settings.CSV_IMPORT_MAX_BYTES = 1000
    content = b"sku,name\n" + b"X-1,Thing\n" * 200

    response = signed_in(manager).post(
        ADMIN_IMPORT,
        {
            "makerspace": str(space.pk),
            "file": SimpleUploadedFile("stock.csv", content),
            "_import": "1",
        },
    )

    assert response.status_code == 200
    assert "larger than" in " ".join(response.context["form"].errors["file"])
    assert not InventoryItem.objects.exists()


def test_the_admin_import_holds_checked_text_sent_back_to_the_same_limit(
    space: Makerspace, manager: User, settings: Any
) -> None:
    settings.CSV_IMPORT_MAX_BYTES = 1000
    text = "sku,name\n" + "X-1,Thing\n" * 200

    response = signed_in(manager).post(
        ADMIN_IMPORT, {"makerspace": str(space.pk), "csv_text": text, "_import": "1"}
    )

    assert response.status_code == 200
    assert "file" in response.context["form"].errors
    assert not InventoryItem.objects.exists()


# --- the project a deduction names --------------------------------------------------------


def project_in(space: Makerspace, *, privacy: str, owner: User | None = None) -> Project:
    owner = owner or MembershipFactory.create(makerspace=space, role="member").user
    return project_services.project_create(
        makerspace=space, owner=owner, name="Bracket", acting_user=owner, privacy=privacy
    )


def deduct(client: APIClient, item: InventoryItem, project: Any) -> Any:
    return client.post(
        item_url(item, "deduct"), {"quantity": "1", "reason": "Job", "project": str(project)}
    )


@pytest.mark.parametrize(
    "whose",
    [
        pytest.param("another space", id="a project of another space"),
        pytest.param("nobody", id="no such project"),
    ],
)
def test_a_deduction_naming_a_project_out_of_reach_answers_400(
    space: Makerspace, staff: APIClient, whose: str
) -> None:
    item = stocked_item(space, stock=10)
    if whose == "another space":
        project_id: Any = project_in(MakerspaceFactory.create(), privacy=ProjectPrivacy.PUBLIC).pk
    else:
        project_id = "4b0e5a5e-9d0c-4b47-9a59-6d3c1c4f0d11"

    response = deduct(staff, item, project_id)

    assert response.status_code == 400
    assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert "project" in error_of(response)["details"]
    assert stock_of(item) == Decimal("10")
    assert not item.movements.filter(kind=MovementKind.DEDUCT).exists()


def test_a_deduction_naming_a_project_of_the_space_records_it(
    space: Makerspace, staff: APIClient
) -> None:
    item = stocked_item(space, stock=10)
    project = project_in(space, privacy=ProjectPrivacy.MAKERSPACE)

    response = deduct(staff, item, project.pk)

    assert response.status_code == 200
    assert item.movements.get(kind=MovementKind.DEDUCT).project_id == project.pk


@pytest.mark.parametrize(
    ("case", "linkable"),
    [
        ("private project of another member", False),
        ("private project shared with the caller", True),
        ("own private project", True),
        ("another member's project open to the space", True),
    ],
)
def test_who_may_name_which_project_follows_the_projects_own_visibility(
    space: Makerspace, case: str, linkable: bool
) -> None:
    # Taking stock out is for staff, who see every project of their space; the rule that
    # inventory asks is still the projects app's own, whoever the caller is.
    caller = MembershipFactory.create(makerspace=space, role="member").user
    privacy = ProjectPrivacy.MAKERSPACE if "open" in case else ProjectPrivacy.PRIVATE
    project = project_in(space, privacy=privacy, owner=caller if "own" in case else None)
    if "shared" in case:
        project_services.collaborator_add(
            project=project, user=caller, role=CollaboratorRole.VIEWER, acting_user=project.owner
        )

    assert project_links.may_link(user=caller, makerspace=space, project_id=project.pk) is linkable


def test_staff_who_moderate_every_project_may_name_a_private_one(
    space: Makerspace, staff: APIClient
) -> None:
    item = stocked_item(space, stock=10)
    project = project_in(space, privacy=ProjectPrivacy.PRIVATE)

    response = deduct(staff, item, project.pk)

    assert response.status_code == 200
    assert item.movements.get(kind=MovementKind.DEDUCT).project_id == project.pk


def test_a_deduction_without_a_project_still_works(space: Makerspace, staff: APIClient) -> None:
    item = stocked_item(space, stock=10)

    response = staff.post(item_url(item, "deduct"), {"quantity": "1", "reason": "Job"})

    assert response.status_code == 200
    assert PurchaseOrder.objects.count() == 0
    assert stock_of(item) == Decimal("9")
