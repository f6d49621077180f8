"""``/api/v1/store/orders/``: who sees which orders (others' answer 404), the list's
filters and its constant query count, and the actions that move an order."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import User
from apps.store.models import Order, Product, ShippingMethod
from tests.store.conftest import client_for
from tests.store.orders_support import Shop, make_shop, place_order

pytestmark = pytest.mark.django_db

URL = "/api/v1/store/orders/"
ORDER_KEYS = {
    "id",
    "order_number",
    "market",
    "status",
    "payment_status",
    "fulfillment_status",
    "items",
    "subtotal",
    "tax_amount",
    "shipping_amount",
    "discount_amount",
    "total_amount",
    "currency",
    "shipping_address",
    "billing_address",
    "shipping_method",
    "tracking_number",
    "order_date",
}


@pytest.fixture
def shop() -> Shop:
    return make_shop()


def as_(shop: Shop, who: str | None) -> Any:
    if who is None:
        return client_for(None)
    # A fresh user object per request, as a real request has.
    return client_for(User.objects.get(pk=getattr(shop, who).pk))


def ids(response: Any) -> set[str]:
    return {row["id"] for row in response.json()["data"]}


def stock(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock_quantity


def error_of(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


# --- reading ---------------------------------------------------------------------------------


def test_signing_in_is_needed(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)])
    for response in (
        as_(shop, None).get(URL),
        as_(shop, None).get(f"{URL}{order.pk}/"),
        as_(shop, None).post(f"{URL}{order.pk}/cancel", {}),
    ):
        assert response.status_code == 401
        assert error_of(response)["code"] == "NOT_AUTHENTICATED"


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("buyer", {"drill", "saw", "caliper"}),
        ("owner", {"drill"}),
        ("staff", {"drill"}),
        ("other_owner", {"saw"}),
        ("stranger", set()),
        ("admin", {"drill", "saw", "caliper"}),
    ],
)
def test_the_list_shows_each_caller_their_orders(shop, who, sees) -> None:
    made = {
        name: place_order(shop, [(getattr(shop, name), 1)]) for name in ("drill", "saw", "caliper")
    }

    response = as_(shop, who).get(URL)

    assert response.status_code == 200
    assert ids(response) == {str(made[name].pk) for name in sees}
    assert response.json()["meta"] == {
        "total": len(sees),
        "page": 1,
        "limit": 20,
        "has_next": False,
    }


def test_the_list_is_newest_first_and_pages(shop, time_machine) -> None:
    made = []
    for minute in range(3):
        time_machine.move_to(f"2026-05-04T12:0{minute}:00Z", tick=False)
        made.append(place_order(shop, [(shop.drill, 1)]))

    first = as_(shop, "buyer").get(f"{URL}?limit=2")
    second = as_(shop, "buyer").get(f"{URL}?limit=2&page=2")

    assert [row["id"] for row in first.json()["data"]] == [str(made[2].pk), str(made[1].pk)]
    assert first.json()["meta"]["has_next"] is True
    assert [row["id"] for row in second.json()["data"]] == [str(made[0].pk)]


def test_the_list_filters_by_status_and_market(shop) -> None:
    pending = place_order(shop, [(shop.drill, 1)])
    paid = place_order(shop, [(shop.drill, 1)], status="paid")
    elsewhere = place_order(shop, [(shop.saw, 1)], status="paid")

    by_status = as_(shop, "buyer").get(f"{URL}?status=paid")
    by_market = as_(shop, "admin").get(f"{URL}?market={shop.market.pk}")
    both = as_(shop, "owner").get(f"{URL}?market={shop.market.pk}&status=pending")
    not_theirs = as_(shop, "owner").get(f"{URL}?market={shop.other_market.pk}")

    assert ids(by_status) == {str(paid.pk), str(elsewhere.pk)}
    assert ids(by_market) == {str(pending.pk), str(paid.pk)}
    assert ids(both) == {str(pending.pk)}
    assert ids(not_theirs) == set()


@pytest.mark.parametrize(
    ("query", "parameter"), [("status=lost", "status"), ("market=not-a-uuid", "market")]
)
def test_bad_filters_answer_400_naming_the_parameter(shop, query, parameter) -> None:
    response = as_(shop, "buyer").get(f"{URL}?{query}")

    assert response.status_code == 400
    assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert parameter in error_of(response)["details"]


def test_the_detail_has_the_order_of_the_contract(shop) -> None:
    hammer = shop.product(shop.market, "Hammer", price=Decimal("7.50"))
    order = place_order(shop, [(shop.drill, 2), (hammer, 1)])

    response = as_(shop, "buyer").get(f"{URL}{order.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == ORDER_KEYS
    assert body["order_number"] == order.order_number
    assert body["market"] == {"id": str(shop.market.pk), "name": "Kyiv Parts"}
    assert (body["status"], body["payment_status"], body["fulfillment_status"]) == (
        "pending",
        "unpaid",
        "unfulfilled",
    )
    assert body["total_amount"] == "57.50"
    assert sorted(
        (item["name"], item["quantity"], item["line_total"]) for item in body["items"]
    ) == [
        ("Hammer", 1, "7.50"),
        ("Hand drill", 2, "50.00"),
    ]


@pytest.mark.parametrize("who", ["stranger", "other_owner"])
def test_another_persons_order_is_404_never_its_data(shop, who) -> None:
    order = place_order(shop, [(shop.drill, 1)])

    for response in (
        as_(shop, who).get(f"{URL}{order.pk}/"),
        as_(shop, who).post(f"{URL}{order.pk}/cancel", {}),
        as_(shop, who).post(f"{URL}{order.pk}/status", {"to": "processing"}),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "NOT_FOUND"
        assert order.order_number not in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == "pending"


def test_the_list_costs_the_same_queries_for_two_or_twelve_orders(shop) -> None:
    counts = {}
    for total in (2, 12):
        while Order.objects.filter(user=shop.buyer).count() < total:
            place_order(shop, [(shop.drill, 1), (shop.caliper, 1)], status="paid")
            place_order(shop, [(shop.saw, 1)])
        for who in ("buyer", "owner", "admin"):
            with CaptureQueriesContext(connection) as queries:
                response = as_(shop, who).get(URL)
            assert response.status_code == 200
            counts[(who, total)] = len(queries)
    assert counts[("buyer", 2)] == counts[("buyer", 12)], counts
    assert counts[("owner", 2)] == counts[("owner", 12)], counts
    assert counts[("admin", 2)] == counts[("admin", 12)], counts
    # The markets they run, the count, the page with the markets, the page's items.
    assert counts[("buyer", 12)] <= 5, counts


# --- cancelling -------------------------------------------------------------------------------


def test_the_buyer_cancels_a_pending_order_and_the_stock_comes_back(shop) -> None:
    order = place_order(shop, [(shop.drill, 3)])

    response = as_(shop, "buyer").post(
        f"{URL}{order.pk}/cancel", {"reason": "Found it cheaper"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["fulfillment_status"]) == ("cancelled", "cancelled")
    assert stock(shop.drill) == 10


def test_cancelling_needs_no_body(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)])

    response = as_(shop, "buyer").post(f"{URL}{order.pk}/cancel")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


def test_the_buyer_cannot_cancel_a_paid_order(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="paid")

    response = as_(shop, "buyer").post(f"{URL}{order.pk}/cancel", {}, format="json")

    assert response.status_code == 403
    assert error_of(response)["code"] == "PERMISSION_DENIED"
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert stock(shop.drill) == 9


def test_staff_cancel_a_paid_order_and_the_money_goes_back(shop) -> None:
    order = place_order(shop, [(shop.drill, 2)], status="paid")

    response = as_(shop, "staff").post(f"{URL}{order.pk}/cancel", {}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["payment_status"], body["fulfillment_status"]) == (
        "refunded",
        "refunded",
        "cancelled",
    )
    assert order.refunds.get().amount == Decimal("50.00")
    assert stock(shop.drill) == 10


def test_a_shipped_order_cannot_be_cancelled(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="shipped")

    response = as_(shop, "owner").post(f"{URL}{order.pk}/cancel", {}, format="json")

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "ORDER_STATE_CONFLICT"
    assert "shipped" in error["message"]
    assert error["details"] == {
        "current": "shipped",
        "requested": "cancelled",
        "allowed": ["delivered"],
    }


def test_an_unknown_field_in_the_cancel_body_is_refused(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)])

    response = as_(shop, "buyer").post(f"{URL}{order.pk}/cancel", {"refund": True}, format="json")

    assert response.status_code == 400
    assert "refund" in error_of(response)["details"]
    assert Order.objects.get(pk=order.pk).status == "pending"


# --- moving an order along ----------------------------------------------------------------------


def test_staff_move_an_order_through_to_delivered(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="paid")
    client = as_(shop, "owner")

    steps = [
        client.post(f"{URL}{order.pk}/status", {"to": "processing"}, format="json"),
        client.post(
            f"{URL}{order.pk}/status",
            {"to": "shipped", "tracking_number": "20450012345UA"},
            format="json",
        ),
        client.post(f"{URL}{order.pk}/status/", {"to": "delivered"}, format="json"),
    ]

    assert [step.status_code for step in steps] == [200, 200, 200]
    assert [step.json()["status"] for step in steps] == ["processing", "shipped", "delivered"]
    assert steps[-1].json()["tracking_number"] == "20450012345UA"
    assert steps[-1].json()["fulfillment_status"] == "delivered"


def test_an_illegal_move_answers_409_with_the_current_state(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="paid")

    response = as_(shop, "owner").post(
        f"{URL}{order.pk}/status", {"to": "delivered"}, format="json"
    )

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "ORDER_STATE_CONFLICT"
    assert error["message"].startswith("The order is paid")
    assert error["details"] == {
        "current": "paid",
        "requested": "delivered",
        "allowed": ["processing", "cancelled"],
    }
    assert Order.objects.get(pk=order.pk).status == "paid"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "refunded"}, "to"),
        ({}, "to"),
        ({"to": "shipped", "tracking_number": 12345}, "tracking_number"),
        ({"to": "processing", "note": "x"}, "note"),
    ],
)
def test_a_bad_move_request_is_a_400_naming_the_field(shop, body, field) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="paid")

    response = as_(shop, "owner").post(f"{URL}{order.pk}/status", body, format="json")

    assert response.status_code == 400
    assert field in error_of(response)["details"]
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_shipping_by_post_without_a_tracking_number_is_refused(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="processing")

    response = as_(shop, "owner").post(f"{URL}{order.pk}/status", {"to": "shipped"}, format="json")

    assert response.status_code == 400
    assert "tracking_number" in error_of(response)["details"]
    assert Order.objects.get(pk=order.pk).status == "processing"


def test_a_pickup_order_is_delivered_straight_from_processing(shop) -> None:
    order = place_order(
        shop, [(shop.drill, 1)], status="processing", shipping_method=ShippingMethod.PICKUP
    )

    response = as_(shop, "staff").post(
        f"{URL}{order.pk}/status", {"to": "delivered"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "delivered"


@pytest.mark.parametrize("who", ["buyer"])
def test_the_buyer_cannot_move_their_order_along(shop, who) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="paid")

    response = as_(shop, who).post(f"{URL}{order.pk}/status", {"to": "processing"}, format="json")

    assert response.status_code == 403
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_moving_to_cancelled_cancels_as_the_cancel_action_does(shop) -> None:
    order = place_order(shop, [(shop.drill, 2)], status="processing")

    response = as_(shop, "admin").post(
        f"{URL}{order.pk}/status", {"to": "cancelled"}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["fulfillment_status"]) == (
        "refunded",
        "cancelled",
    )
    assert stock(shop.drill) == 10


# --- paying and refunding ------------------------------------------------------------------------


def test_the_buyer_pays_in_test_mode_through_the_orders_route(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)])

    response = as_(shop, "buyer").post(
        f"{URL}{order.pk}/pay", {"outcome": "succeeded"}, format="json"
    )

    assert response.status_code == 200
    assert [row["status"] for row in response.json()["orders"]] == ["paid"]
    assert Order.objects.get(pk=order.pk).status == "paid"


def test_staff_refund_part_of_an_order_through_the_orders_route(shop) -> None:
    order = place_order(shop, [(shop.drill, 2)], status="paid")

    response = as_(shop, "owner").post(
        f"{URL}{order.pk}/refund", {"amount": "10.00", "reason": "Scratched"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["amount"] == "10.00"
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.amount_refunded) == (
        "paid",
        "partially_refunded",
        Decimal("10.00"),
    )


def test_pay_and_refund_of_another_persons_order_are_404(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="paid")

    pay = as_(shop, "stranger").post(
        f"{URL}{order.pk}/pay", {"outcome": "succeeded"}, format="json"
    )
    refund = as_(shop, "other_owner").post(f"{URL}{order.pk}/refund", {}, format="json")

    assert (pay.status_code, refund.status_code) == (404, 404)
    assert not order.refunds.exists()
