"""Orders and vouchers in the staff admin, through its real views: a market's owner and
staff see and fulfil their market's orders and manage its vouchers; super admins all
of them; every write goes through the services."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.core.models import AuditLogEntry
from apps.store.models import Order, Product, ShippingMethod, Voucher
from tests.admin_support import action_names, change_url, logged_in, messages_of, rows
from tests.store.orders_support import (
    Shop,
    make_shop,
    new_payment,
    place_order,
    redeem,
    voucher_for,
)

pytestmark = pytest.mark.django_db

ORDERS = reverse("admin:store_order_changelist")
VOUCHERS = reverse("admin:store_voucher_changelist")
VOUCHER_ADD = reverse("admin:store_voucher_add")
FULFILMENT_ACTIONS = {
    "mark_processing",
    "mark_shipped",
    "mark_delivered",
    "cancel_orders",
    "refund_orders",
}


@pytest.fixture
def shop() -> Shop:
    return make_shop()


def action(client: Client, url: str, name: str, objects: list[Any], **data: Any) -> Any:
    return client.post(
        url,
        {"action": name, "_selected_action": [str(obj.pk) for obj in objects], **data},
        follow=True,
    )


def status_of(order: Order) -> str:
    return Order.objects.get(pk=order.pk).status


def stock(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock_quantity


# --- seeing orders -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "staff"])
def test_a_markets_people_see_only_its_orders(shop, who) -> None:
    own = place_order(shop, [(shop.drill, 1)])
    others = place_order(shop, [(shop.saw, 1)])
    central = place_order(shop, [(shop.caliper, 1)])
    client = logged_in(getattr(shop, who))

    listed = client.get(ORDERS)

    assert [order.pk for order in rows(listed)] == [own.pk]
    assert action_names(listed) == FULFILMENT_ACTIONS
    assert client.get(change_url(others)).status_code == 302  # not among their rows
    assert client.get(change_url(central)).status_code == 302


def test_a_super_admin_sees_every_order(shop) -> None:
    made = [place_order(shop, [(product, 1)]) for product in (shop.drill, shop.saw, shop.caliper)]

    listed = logged_in(shop.admin).get(ORDERS)

    assert {order.pk for order in rows(listed)} == {order.pk for order in made}


def test_orders_are_found_by_number_and_buyer_email(shop) -> None:
    first = place_order(shop, [(shop.drill, 1)])
    second = place_order(shop, [(shop.drill, 1)], buyer=shop.stranger)
    client = logged_in(shop.owner)

    by_number = client.get(ORDERS, {"q": first.order_number})
    by_email = client.get(ORDERS, {"q": shop.stranger.email})

    assert [order.pk for order in rows(by_number)] == [first.pk]
    assert [order.pk for order in rows(by_email)] == [second.pk]


def test_the_order_page_is_read_only_with_its_items(shop) -> None:
    order = place_order(shop, [(shop.drill, 2)], status="paid")
    client = logged_in(shop.owner)

    page = client.get(change_url(order))
    edit = client.post(change_url(order), {"status": "delivered", "tracking_number": "X"})

    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    items = page.context["inline_admin_formsets"][0]
    assert [form.instance.name for form in items.formset.forms] == ["Hand drill"]
    assert edit.status_code == 403
    assert status_of(order) == "paid"


def test_orders_are_never_added_or_deleted_in_the_admin(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)])
    client = logged_in(shop.admin)

    assert client.get(reverse("admin:store_order_add")).status_code == 403
    assert (
        client.post(reverse("admin:store_order_delete", args=[order.pk]), {"post": "yes"})
    ).status_code == 403
    assert Order.objects.filter(pk=order.pk).exists()


# --- fulfilling ----------------------------------------------------------------------------


def test_marking_orders_processing_moves_only_those_that_may_move(shop) -> None:
    paid = place_order(shop, [(shop.drill, 1)], status="paid")
    pending = place_order(shop, [(shop.drill, 1)])

    response = action(logged_in(shop.staff), ORDERS, "mark_processing", [paid, pending])

    messages = messages_of(response)
    assert "Orders moved to Processing: 1." in messages
    assert any(
        message.startswith("Not done:") and "The order is pending" in message
        for message in messages
    )
    assert (status_of(paid), status_of(pending)) == ("processing", "pending")


def test_shipping_asks_for_the_tracking_number_first(shop) -> None:
    order = place_order(shop, [(shop.drill, 1)], status="processing")
    client = logged_in(shop.owner)

    form = action(client, ORDERS, "mark_shipped", [order])
    without = action(client, ORDERS, "mark_shipped", [order], apply="yes", tracking_number="")
    shipped = action(
        client, ORDERS, "mark_shipped", [order], apply="yes", tracking_number="20450012345UA"
    )

    assert form.status_code == 200
    assert "tracking_number" in form.context["form"].fields
    assert [row.pk for row in form.context["rows"]] == [order.pk]
    assert any("tracking number" in message for message in messages_of(without))
    assert "Orders moved to Shipped: 1." in messages_of(shipped)
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == ("shipped", "20450012345UA")


def test_delivering_a_pickup_order(shop) -> None:
    order = place_order(
        shop, [(shop.drill, 1)], status="processing", shipping_method=ShippingMethod.PICKUP
    )

    response = action(logged_in(shop.owner), ORDERS, "mark_delivered", [order])

    assert "Orders moved to Delivered: 1." in messages_of(response)
    assert status_of(order) == "delivered"


def test_cancelling_gives_the_stock_and_the_money_back(shop) -> None:
    pending = place_order(shop, [(shop.drill, 2)])
    paid = place_order(shop, [(shop.drill, 3)], status="paid")
    client = logged_in(shop.owner)

    confirm = action(client, ORDERS, "cancel_orders", [pending, paid])
    done = action(
        client, ORDERS, "cancel_orders", [pending, paid], apply="yes", reason="Out of business"
    )

    assert confirm.status_code == 200
    assert "Orders cancelled: 2." in messages_of(done)
    assert (status_of(pending), status_of(paid)) == ("cancelled", "refunded")
    assert paid.refunds.get().amount == Decimal("75.00")
    assert stock(shop.drill) == 10


def test_refunding_part_of_an_order(shop) -> None:
    order = place_order(shop, [(shop.drill, 2)], status="paid")
    client = logged_in(shop.owner)

    done = action(
        client, ORDERS, "refund_orders", [order], apply="yes", amount="20.00", reason="Dented"
    )
    too_much = action(client, ORDERS, "refund_orders", [order], apply="yes", amount="40.00")

    assert "Orders refunded: 1." in messages_of(done)
    assert any(message.startswith("Not done:") for message in messages_of(too_much))
    order.refresh_from_db()
    assert (order.payment_status, order.amount_refunded) == (
        "partially_refunded",
        Decimal("20.00"),
    )


def test_a_super_admin_fulfils_a_central_order_the_owner_cannot_select(shop) -> None:
    central = place_order(shop, [(shop.caliper, 1)], status="paid")

    by_owner = action(logged_in(shop.owner), ORDERS, "mark_processing", [central])
    by_admin = action(logged_in(shop.admin), ORDERS, "mark_processing", [central])

    assert not any("moved" in message for message in messages_of(by_owner))
    assert "Orders moved to Processing: 1." in messages_of(by_admin)
    assert status_of(central) == "processing"


# --- vouchers ------------------------------------------------------------------------------


VOUCHER_FORM = {
    "code": "spring-10",
    "kind": "percent",
    "value": "10",
    "minimum_order": "20.00",
    "max_uses": "50",
    "is_active": "on",
}


def test_an_owner_adds_a_voucher_only_for_their_market(shop) -> None:
    client = logged_in(shop.owner)
    form = client.get(VOUCHER_ADD).context["adminform"].form

    refused = client.post(VOUCHER_ADD, {**VOUCHER_FORM, "market": str(shop.other_market.pk)})
    store_wide = client.post(VOUCHER_ADD, {**VOUCHER_FORM, "market": ""})
    added = client.post(VOUCHER_ADD, {**VOUCHER_FORM, "market": str(shop.market.pk)})

    assert list(form.fields["market"].queryset) == [shop.market]
    assert refused.context["adminform"].form.errors["market"]
    assert store_wide.context["adminform"].form.errors["market"]
    assert added.status_code == 302
    voucher = Voucher.objects.get()
    assert (voucher.code, voucher.market, voucher.value) == (
        "SPRING-10",
        shop.market,
        Decimal("10.00"),
    )
    entry = AuditLogEntry.objects.get(object_id=str(voucher.pk))
    assert (entry.action, entry.actor) == ("create", shop.owner)


def test_a_super_admin_adds_a_store_wide_voucher(shop) -> None:
    response = logged_in(shop.admin).post(VOUCHER_ADD, {**VOUCHER_FORM, "market": ""})

    assert response.status_code == 302
    assert Voucher.objects.get().market is None


def test_a_code_taken_in_other_letters_is_refused(shop) -> None:
    voucher_for(None, code="SPRING-10")

    response = logged_in(shop.admin).post(VOUCHER_ADD, {**VOUCHER_FORM, "market": ""}, follow=True)

    assert any("taken" in message for message in messages_of(response))
    assert Voucher.objects.count() == 1


def test_an_owner_sees_only_their_markets_vouchers(shop) -> None:
    own = voucher_for(shop.market, code="KYIV5")
    voucher_for(shop.other_market, code="LVIV5")
    store_wide = voucher_for(None, code="WELCOME10")
    client = logged_in(shop.staff)

    listed = client.get(VOUCHERS)

    assert [voucher.pk for voucher in rows(listed)] == [own.pk]
    assert client.get(change_url(store_wide)).status_code == 302


def test_a_limit_is_never_lowered_below_the_uses_counted(shop) -> None:
    voucher = voucher_for(shop.market, code="KYIV5", max_uses=10)
    for _ in range(3):
        redeem(voucher, new_payment(shop.buyer, Decimal("10.00")), shop.buyer)
    client = logged_in(shop.owner)
    data = {
        "code": "KYIV5",
        "kind": "fixed",
        "value": "5.00",
        "minimum_order": "0.00",
        "is_active": "on",
    }

    lowered = client.post(change_url(voucher), {**data, "max_uses": "2"}, follow=True)
    raised = client.post(change_url(voucher), {**data, "max_uses": "20", "value": "6.00"})

    assert any("used 3 times" in message for message in messages_of(lowered))
    assert raised.status_code == 302
    voucher.refresh_from_db()
    assert (voucher.max_uses, voucher.value, voucher.times_used) == (20, Decimal("6.00"), 3)


def test_a_used_voucher_is_deactivated_not_deleted(shop) -> None:
    used = voucher_for(shop.market, code="KYIV5")
    redeem(used, new_payment(shop.buyer, Decimal("10.00")), shop.buyer)
    unused = voucher_for(shop.market, code="KYIV7")
    client = logged_in(shop.owner)

    for voucher in (used, unused):
        client.post(reverse("admin:store_voucher_delete", args=[voucher.pk]), {"post": "yes"})

    assert list(Voucher.objects.values_list("code", "is_active")) == [("KYIV5", False)]
