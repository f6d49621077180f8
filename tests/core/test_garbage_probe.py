"""Garbage in, never a 500 out: every operation of the API schema, fed bad values.

Each operation of the generated OpenAPI document is called as an admin of the space
with, in turn, every body field set to values of the wrong type or out of range
(1e309, 10**30, dates that do not exist, years 0 and 10000, datetimes without a zone,
overlong text, invalid UUIDs), and every query parameter set to the same kind of
values. Only the absence of a 500 is asserted: whether a value is refused or taken
is each route's own business, covered by its own tests. Each call runs in its own
savepoint, so one call's writes cannot change what the next one meets.
"""

import json
import traceback
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.core.permissions import forget_roles
from apps.equipment.api import views as equipment_views
from apps.makerspaces.api import views as makerspace_views
from apps.projects.api import views as project_views
from apps.store import demo_fabrication
from apps.store import services as store_services
from apps.store.api import views as store_views
from apps.store.api.cart import CartViewSet
from apps.store.api.fabrication import FabricationJobViewSet
from apps.store.api.orders import OrderViewSet
from apps.store.models import (
    CartItem,
    Category,
    FabricationJob,
    FabricationMaterial,
    Market,
    Order,
    OrderItem,
    Payment,
    Product,
)
from apps.store.services import cart as cart_services
from apps.store.services import fabrication
from apps.store.services.numbers import new_order_number
from tests.makerspaces.test_permission_matrix import (
    ADMIN,
    BODIES,
    URL_OBJECTS,
    SpaceObjects,
    World,
    world,  # noqa: F401  (the module-scoped fixture: two spaces with one of everything)
)

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
COMPONENTS = SCHEMA["components"]["schemas"]


# Routes outside a space, and the routes whose argument names differ from the matrix's.
def _store(space: SpaceObjects) -> dict[str, Any]:
    """A category, a market of the space's admin with a product, a staff member and a
    closure: found when the test made them already, made through the services if not."""
    owner = space.staff[ADMIN].user
    root = User.objects.filter(email="probe-root@example.org").first()
    if root is None:
        root = User.objects.create_superuser(
            email="probe-root@example.org", password="Probe-root-42", name="Probe Root"
        )
    category = Category.objects.filter(slug="probe-parts").first()
    if category is None:
        category = store_services.category_create(
            acting_user=root, name="Probe parts", slug="probe-parts"
        )
    market = Market.objects.filter(owner=owner).first()
    if market is None:
        market = store_services.market_create(acting_user=owner, name=f"Probe {owner.pk}")
    product = Product.objects.filter(market=market).first()
    if product is None:
        product = store_services.product_create(
            acting_user=owner,
            market=market,
            category=category,
            name="Probe drill",
            sku="PROBE-1",
            price=Decimal("10.00"),
        )
    staff = market.staff.first()
    if staff is None:
        staff = store_services.market_staff_add(
            market=market, user=space.member.user, acting_user=owner
        )
    closure = market.closures.first()
    if closure is None:
        closure = store_services.market_closure_add(
            market=market, acting_user=owner, date=date(2027, 1, 7)
        )
    return {
        "category": category.slug,
        "market": market.pk,
        "product": product.pk,
        "staff": staff.user_id,
        "closure": closure.pk,
    }


def _cart_item(space: SpaceObjects) -> Any:
    """A line of the calling admin's own cart."""
    owner = space.staff[ADMIN].user
    product = Product.objects.get(pk=_store(space)["product"])
    return CartItem.objects.get_or_create(
        cart=cart_services.user_cart(owner), product=product, defaults={"quantity": 1}
    )[0].pk


def _order(space: SpaceObjects) -> Any:
    """A pending order the calling admin placed in their own market (so they are its
    buyer and its seller): its rows as checkout writes them."""
    owner = space.staff[ADMIN].user
    order = Order.objects.filter(user=owner).first()
    if order is not None:
        return order.pk
    product = Product.objects.get(pk=_store(space)["product"])
    payment = Payment.objects.create(user=owner, provider="test", amount=product.price)
    order = Order.objects.create(
        order_number=new_order_number(),
        user=owner,
        market=product.market,
        payment=payment,
        subtotal=product.price,
        tax_amount=Decimal("0.00"),
        shipping_amount=Decimal("0.00"),
        total_amount=product.price,
        currency=product.currency,
        shipping_method="pickup",
    )
    OrderItem.objects.create(
        order=order,
        product=product,
        name=product.name,
        sku=product.sku,
        unit_price=product.price,
        quantity=1,
        line_total=product.price,
    )
    return order.pk


def _fabrication_job(space: SpaceObjects) -> Any:
    """A quoted 3D-print job of the calling admin in the space."""
    owner = space.staff[ADMIN].user
    job = FabricationJob.objects.filter(user=owner, makerspace=space.makerspace).first()
    if job is not None:
        return job.pk
    material = FabricationMaterial.objects.filter(makerspace=space.makerspace).first()
    if material is None:
        material = fabrication.fabrication_material_create(
            makerspace=space.makerspace,
            acting_user=owner,
            name="Probe PLA",
            price_per_cm3=Decimal("0.10"),
            printer_name="Probe printer",
            build_x_mm=Decimal("200"),
            build_y_mm=Decimal("200"),
            build_z_mm=Decimal("200"),
        )
    return fabrication.fabrication_job_create(
        makerspace=space.makerspace,
        material=material,
        filename="cube.stl",
        data=demo_fabrication.cube_stl(),
        quantity=1,
        acting_user=owner,
    ).pk


EXTRA_URL_OBJECTS: dict[tuple[Any, str], Any] = {
    (CartViewSet, "item_id"): _cart_item,
    (OrderViewSet, "pk"): _order,
    (FabricationJobViewSet, "pk"): _fabrication_job,
    (store_views.CategoryViewSet, "slug"): lambda space: _store(space)["category"],
    (store_views.ProductViewSet, "pk"): lambda space: _store(space)["product"],
    (store_views.ProductViewSet, "image_id"): lambda space: Product.objects.get(
        pk=_store(space)["product"]
    )
    .images.get_or_create(position=0, defaults={"image": "store/products/probe.png"})[0]
    .pk,
    (store_views.MarketViewSet, "pk"): lambda space: _store(space)["market"],
    (store_views.MarketViewSet, "user_id"): lambda space: _store(space)["staff"],
    (store_views.MarketViewSet, "closure_id"): lambda space: _store(space)["closure"],
    (makerspace_views.InvitationViewSet, "pk"): lambda space: space.invitation.pk,
    (makerspace_views.SkillViewSet, "slug"): lambda space: space.skill.slug,
    (project_views.ProjectViewSet, "pk"): lambda space: space.project.pk,
    (project_views.PublicProjectViewSet, "pk"): lambda space: space.project.pk,
    (equipment_views.EquipmentViewSet, "pk"): lambda space: space.machine.pk,
    (equipment_views.WaitlistViewSet, "pk"): lambda space: space.waitlist_entry.pk,
}
SKIPPED = {
    # A multipart CSV upload, probed by the inventory tests.
    ("POST", "/api/v1/makerspaces/{makerspace_pk}/inventory/import/"),
}

# Raw JSON text, so that numbers past a float (1e309) and past a bigint reach the server.
ANY_TYPE = [
    "null",
    "true",
    '""',
    "[]",
    "{}",
    "[{}]",
    "1e309",
    "-1e309",
    str(10**30),
    str(-(10**30)),
    str(2**63),
    '"1e309"',
    '"NaN"',
    '"-Infinity"',
    '"not-a-uuid"',
    '"2026-02-30"',
]
BY_TYPE: dict[str, list[str]] = {
    "integer": [str(10**30), str(2**31), str(2**63), str(-(2**63) - 1), "1e309", "0.5"],
    "number": ["1e309", str(10**30), '"1e30"', '"-1e30"', '"99999999999999999999.99"'],
    "string": ['""', json.dumps("x" * 20_000), '"  "'],
    "decimal": ['"1e309"', '"1e30"', '"-1e30"', '"0.0000000001"', '"1E+5"', '"NaN"'],
    "date": ['"2026-02-30"', '"0000-01-01"', '"0001-01-01"', '"9999-12-31"', '"10000-01-01"'],
    "date-time": [
        '"2026-03-01T10:00:00"',
        '"2026-02-30T10:00:00Z"',
        '"0001-01-01T00:00:00+14:00"',
        '"9999-12-31T23:59:59-14:00"',
        '"10000-01-01T00:00:00Z"',
        '"2026-03-29T03:30:00"',
    ],
    "time": ['"24:00"', '"25:61"', '"23:59:60"'],
    "uuid": ['"not-a-uuid"', '"00000000-0000-0000-0000-000000000000"', '"' + "f" * 36 + '"'],
    "array": ["[null]", '[""]', json.dumps(["x" * 300] * 50), "[[[]]]"],
    "object": ["[]", '{"": null}', json.dumps({"x" * 300: [1] * 100})],
}
QUERY_VALUES = [
    "",
    "abc",
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    "nan",
    "2026-02-30",
    "0000-01-01T00:00:00",
    "10000-01-01",
    "2026-03-01T10:00:00",
    "0001-01-01T00:00:00+14:00",
    "not-a-uuid",
    "\x00",
    "x" * 5_000,
    "1,2",
]


def _resolve_schema(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]
    for key in ("allOf", "oneOf", "anyOf"):
        if key in schema:
            merged: dict[str, Any] = {}
            for part in schema[key]:
                merged.update(_resolve_schema(part))
            return merged
    return schema


def _kind(schema: dict[str, Any]) -> str:
    schema = _resolve_schema(schema)
    kind = schema.get("type", "object")
    fmt = schema.get("format", "")
    if kind == "string" and fmt in ("date", "date-time", "time", "uuid", "decimal"):
        return str(fmt)
    if kind == "string" and "pattern" in schema and "\\d" in schema["pattern"]:
        return "decimal"
    return str(kind) if kind in BY_TYPE else "object"


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, methods in SCHEMA["paths"].items():
        for method, operation in methods.items():
            verb = method.upper()
            if verb in ("GET", "POST", "PUT", "PATCH", "DELETE") and (verb, path) not in SKIPPED:
                found.append((verb, path, operation))
    return found


OPERATIONS = operations()


def request_fields(operation: dict[str, Any]) -> dict[str, str]:
    """Body field name → kind, from the operation's JSON request schema."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json")
    if schema is None:
        return {}
    body = _resolve_schema(schema["schema"])
    return {name: _kind(field) for name, field in body.get("properties", {}).items()}


def query_names(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]


def concrete_url(path: str, method: str, space: SpaceObjects) -> tuple[str, str]:
    """The path with its arguments filled from the space; also the route's matrix label."""
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    # Resolve with placeholders to learn which view (and action) the path belongs to.
    placeholder = "00000000-0000-4000-8000-000000000001"
    probe = path
    for name in names:
        probe = probe.replace(f"{{{name}}}", placeholder)
    match = resolve(probe)
    view = getattr(match.func, "cls", None)
    action = (getattr(match.func, "actions", None) or {}).get(method.lower(), "")
    url = path
    for name in names:
        kwarg = "pk" if name == "id" else name
        if kwarg == "makerspace_pk" or (
            view is makerspace_views.MakerspaceViewSet and kwarg == "pk"
        ):
            value: Any = space.makerspace.pk
        else:
            fill = (
                URL_OBJECTS.get((view, kwarg, action))
                or URL_OBJECTS.get((view, kwarg))
                or EXTRA_URL_OBJECTS.get((view, kwarg))
            )
            assert fill is not None, f"no object for {{{name}}} of {path}"
            value = fill(space)
        url = url.replace(f"{{{name}}}", str(value))
    label = path.removeprefix("/api/v1/makerspaces/{makerspace_pk}/").removeprefix("/api/v1/")
    for name in names:
        label = label.replace(f"{{{name}}}", "{pk}" if name == "id" else f"{{{name}}}")
    return url, label.rstrip("/")


def bodies(method: str, label: str, operation: dict[str, Any], space: SpaceObjects) -> list[str]:
    """JSON texts to send: every field at once per bad value, then one field at a time."""
    if method == "GET":
        return []
    # Bodies that are not an object at all come first: a view reading request.data
    # as a dict must not trip over them.
    texts = ["[]", "[{}]", '"text"', "1", "null", "true"]
    fields = request_fields(operation)
    if not fields:
        return [*texts, "{}"]
    texts += [
        "{" + ", ".join(f"{json.dumps(name)}: {value}" for name in fields) + "}"
        for value in ANY_TYPE
    ]
    base_maker = BODIES.get((method, label)) or BODIES.get((method, label.replace("{pk}", "{id}")))
    base = {
        name: json.dumps(value) for name, value in (base_maker(space) if base_maker else {}).items()
    }
    for name, kind in fields.items():
        for value in BY_TYPE[kind]:
            body = {**base, name: value}
            texts.append("{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in body.items()) + "}")
    return texts


def call(client: APIClient, method: str, url: str, **kwargs: Any) -> str | None:
    """One request in its own savepoint; the failure, if the server failed."""
    savepoint = transaction.savepoint()
    try:
        response = client.generic(method, url, **kwargs)
    except Exception:
        return traceback.format_exc(limit=-3)
    finally:
        transaction.savepoint_rollback(savepoint)
    if response.status_code >= 500:
        return response.content[:300].decode(errors="replace")
    return None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "operation"),
    OPERATIONS,
    ids=[f"{method} {path}" for method, path, _ in OPERATIONS],
)
def test_garbage_never_makes_a_500(
    world: World,  # noqa: F811
    method: str,
    path: str,
    operation: dict[str, Any],
) -> None:
    # Given an admin of a space, and an operation of the API
    space = world.alpha
    caller = world.callers[ADMIN]
    forget_roles(caller)
    client = APIClient()
    client.force_authenticate(user=caller)
    url, label = concrete_url(path, method, space)
    failures = []

    # When it is called with bad bodies and bad query parameters
    for text in bodies(method, label, operation, space):
        failure = call(client, method, url, data=text.encode(), content_type="application/json")
        if failure:
            failures.append(f"body {text[:200]}\n  → {failure}")
    for name in query_names(operation):
        for value in QUERY_VALUES:
            failure = call(
                client,
                method,
                url,
                data=b"{}" if method != "GET" else b"",
                content_type="application/json",
                QUERY_STRING=_query(name, value),
            )
            if failure:
                failures.append(f"?{name}={value[:40]!r}\n  → {failure}")

    # Then no call failed on the server's side
    assert not failures, "\n".join(failures[:20])


def _query(name: str, value: str) -> str:
    from urllib.parse import urlencode

    return urlencode({name: value})
