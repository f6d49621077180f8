"""The pages of buying: adding to the cart, the cart, the checkout, the test-mode pay
page, the member's orders, and a market's orders page for its owner and staff."""

import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import User
from apps.store import services
from apps.store.models import (
    Cart,
    CartItem,
    Category,
    Market,
    MarketStaff,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Product,
    Voucher,
)
from apps.store.services import cart as cart_services
from apps.store.services import checkout as checkout_services
from tests import factories, stripe_server

UserFactory: Any = factories.UserFactory
MarketFactory: Any = factories.MarketFactory
CategoryFactory: Any = factories.CategoryFactory

pytestmark = pytest.mark.django_db

CART = reverse("store:cart")
CART_ADD = reverse("store:cart-add")
CHECKOUT = reverse("store:checkout")
ORDERS = reverse("store:orders")
ADDRESS = {
    "name": "Maria Maker",
    "line1": "1 Khreshchatyk",
    "city": "Kyiv",
    "postal_code": "01001",
    "country": "UA",
}
KYIV = {"latitude": Decimal("50.450000"), "longitude": Decimal("30.523000")}


# --- helpers -------------------------------------------------------------------------------


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def product(
    *, market: Market | None, category: Category, actor: User, name: str, price: str, stock: int
) -> Product:
    """A product written as the services write it (its stock is its ledger)."""
    return services.product_create(
        acting_user=actor,
        market=market,
        category=category,
        name=name,
        sku=name.upper().replace(" ", "-")[:60],
        price=Decimal(price),
        currency="EUR",
        opening_stock=stock,
    )


class Shop:
    """Two markets selling in euros: Kyiv Parts posts orders (and takes cash at
    pickup), Lviv Bits has them picked up or delivers within 10 km."""

    def __init__(self) -> None:
        self.admin = UserFactory.create(is_superuser=True)
        self.owner = UserFactory.create(name="Olha Owner")
        self.staff = UserFactory.create(name="Stas Staff")
        self.other_owner = UserFactory.create(name="Lev Lviv")
        self.buyer = UserFactory.create(name="Bohdan Buyer")
        self.stranger = UserFactory.create(name="Stefa Stranger")
        self.kyiv = MarketFactory.create(
            owner=self.owner,
            name="Kyiv Parts",
            slug="kyiv-parts",
            currency="EUR",
            tax_rate=Decimal("20.00"),
            delivery_options={
                "pickup": {"enabled": True},
                "shipping": {"enabled": True, "fee": "5.00"},
            },
            payment_methods=["card", "cash_on_pickup"],
        )
        MarketStaff.objects.create(market=self.kyiv, user=self.staff)
        self.lviv = MarketFactory.create(
            owner=self.other_owner,
            name="Lviv Bits",
            slug="lviv-bits",
            currency="EUR",
            latitude=KYIV["latitude"],
            longitude=KYIV["longitude"],
            delivery_options={
                "pickup": {"enabled": True},
                "local_delivery": {
                    "enabled": True,
                    "radius_km": 10,
                    "fee": "3.00",
                    "minimum_order": "0.00",
                },
            },
            payment_methods=["card"],
        )
        self.tools = CategoryFactory.create(name="Tools", slug="tools")
        self.drill = product(
            market=self.kyiv,
            category=self.tools,
            actor=self.owner,
            name="Hand drill",
            price="30.00",
            stock=5,
        )
        self.bits = product(
            market=self.lviv,
            category=self.tools,
            actor=self.other_owner,
            name="Drill bits",
            price="12.00",
            stock=10,
        )


@pytest.fixture
def shop() -> Shop:
    return Shop()


def checkout_data(client: Client, **changes: Any) -> dict[str, Any]:
    """The checkout form as the page renders it, filled in: every market's first way
    of delivery, card payment, the billing address the shipping one."""
    page = client.get(CHECKOUT)
    assert page.status_code == 200
    form = page.context["form"]
    data: dict[str, Any] = {
        "token": str(form.initial["token"]),
        "billing_same": "on",
        "payment_method": "card",
        **{f"shipping-{key}": value for key, value in ADDRESS.items()},
    }
    for group in page.context["groups"]:
        data[f"shipping_{group['key']}"] = group["choices"][0][0]
    data.update(changes)
    return data


def fill_cart(user: User, *lines: tuple[Product, int]) -> Cart:
    cart = cart_services.user_cart(user)
    for item, quantity in lines:
        cart_services.cart_add_item(cart=cart, product=item, quantity=quantity, acting_user=user)
    return cart


def place_order(user: User, *lines: tuple[Product, int], method: str = "pickup") -> Payment:
    fill_cart(user, *lines)
    result = checkout_services.checkout(
        user=user,
        shipping_address=ADDRESS,
        billing_address=ADDRESS,
        shipping_method=method,
    )
    return result.payment


def pay(user: User, payment: Payment, capture: Any, outcome: str = "succeeded") -> Any:
    with capture(execute=True):
        return signed_in(user).post(
            reverse("store:pay", kwargs={"payment_id": payment.pk}), {"outcome": outcome}
        )


# --- the journey ---------------------------------------------------------------------------


def test_a_visitor_fills_a_cart_signs_in_checks_out_from_two_markets_and_pays(
    shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    visitor = Client()
    drill_page = reverse("store:product", kwargs={"slug": shop.drill.slug})

    # Given a visitor who puts products of two markets in the cart
    product_page = visitor.get(drill_page)
    added = visitor.post(
        CART_ADD, {"product_id": str(shop.drill.pk), "quantity": "2", "next": drill_page}
    )
    visitor.post(CART_ADD, {"product_id": str(shop.bits.pk), "quantity": "1"})
    cart_page = visitor.get(CART)

    assert 'action="/store/cart/add/"' in product_page.content.decode()
    assert added.status_code == 302
    assert added["Location"] == drill_page
    assert "2 × Hand drill added to your cart." in messages_of(added)
    assert [group["market"]["name"] for group in cart_page.context["groups"]] == [
        "Kyiv Parts",
        "Lviv Bits",
    ]
    assert cart_page.context["summary"]["subtotal"] == "72.00"
    header = re.search(
        r'class="cart-link"[^>]*>Cart <span class="badge">(\d+)</span>',
        cart_page.content.decode(),
    )
    assert header is not None
    assert header.group(1) == "3"

    # When they go to the checkout, they are asked to sign in first, and their cart
    # comes along
    asked = visitor.get(CHECKOUT)
    assert asked.status_code == 302
    assert asked["Location"].startswith(reverse("accounts:login"))
    signed = visitor.post(
        asked["Location"],
        {"email": shop.buyer.email, "password": factories.DEFAULT_PASSWORD, "next": CHECKOUT},
    )
    assert signed["Location"] == CHECKOUT
    data = checkout_data(visitor)
    assert CartItem.objects.filter(cart__user=shop.buyer).count() == 2
    # 2 × 30.00 with Kyiv's 20% tax, and 12.00 with none, before delivery
    assert visitor.get(CHECKOUT).context["items_with_tax"] == Decimal("84.00")
    assert not Cart.objects.filter(user__isnull=True).exists()

    # and they check out: posted by Kyiv Parts, picked up at Lviv Bits
    data[f"shipping_{shop.kyiv.pk}"] = "shipping"
    data[f"shipping_{shop.lviv.pk}"] = "pickup"
    placed = visitor.post(CHECKOUT, data)

    payment = Payment.objects.get(user=shop.buyer)
    pay_url = reverse("store:pay", kwargs={"payment_id": payment.pk})
    assert placed.status_code == 302
    assert placed["Location"] == pay_url
    orders = {order.market_id: order for order in Order.objects.filter(user=shop.buyer)}
    kyiv_order, lviv_order = orders[shop.kyiv.pk], orders[shop.lviv.pk]
    # 60.00 + 20% tax + 5.00 postage; 12.00 with no tax, picked up.
    assert kyiv_order.total_amount == Decimal("77.00")
    assert lviv_order.total_amount == Decimal("12.00")
    assert payment.amount == Decimal("89.00")
    assert not CartItem.objects.filter(cart__user=shop.buyer).exists()

    # Then the pay page shows both orders, and paying in test mode pays them
    pay_page = visitor.get(pay_url)
    assert pay_page.status_code == 200
    assert "89.00 EUR" in pay_page.content.decode()
    assert {order.order_number for order in pay_page.context["orders"]} == {
        kyiv_order.order_number,
        lviv_order.order_number,
    }
    with django_capture_on_commit_callbacks(execute=True):
        paid = visitor.post(pay_url, {"outcome": "succeeded"})

    assert paid.status_code == 302
    assert paid["Location"] == ORDERS
    assert "Payment received: your orders are paid." in messages_of(paid)
    history = visitor.get(ORDERS)
    assert {order.status for order in history.context["page"].object_list} == {"paid"}
    assert history.content.decode().count('class="order-row"') == 2
    for market, order in ((shop.kyiv, kyiv_order), (shop.lviv, lviv_order)):
        market.refresh_from_db()
        assert (market.total_orders, market.total_revenue) == (1, order.total_amount)
    shop.drill.refresh_from_db()
    assert shop.drill.stock_quantity == 3
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [shop.buyer.email]
    assert kyiv_order.order_number in mail.outbox[0].body
    assert lviv_order.order_number in mail.outbox[0].body

    # and the order page invites a review of what was bought
    order_page = visitor.get(
        reverse("store:order", kwargs={"order_number": kyiv_order.order_number})
    )
    assert order_page.status_code == 200
    assert "Review this product" in order_page.content.decode()
    assert order_page.context["pay_url"] == ""


def test_a_double_submitted_checkout_makes_one_order(shop: Shop) -> None:
    fill_cart(shop.buyer, (shop.drill, 1))
    client = signed_in(shop.buyer)
    data = checkout_data(client)

    first = client.post(CHECKOUT, data)
    second = client.post(CHECKOUT, data)

    payment = Payment.objects.get(user=shop.buyer)
    assert Order.objects.filter(user=shop.buyer).count() == 1
    assert first["Location"] == second["Location"]
    assert first["Location"] == reverse("store:pay", kwargs={"payment_id": payment.pk})
    assert "This order was placed already; here it is." in messages_of(second)
    shop.drill.refresh_from_db()
    assert shop.drill.stock_quantity == 4


def test_a_refused_checkout_keeps_its_token_for_the_fixed_form(shop: Shop) -> None:
    fill_cart(shop.buyer, (shop.bits, 1))
    client = signed_in(shop.buyer)
    data = checkout_data(client, **{f"shipping_{shop.lviv.pk}": "local_delivery"})

    refused = client.post(CHECKOUT, data)
    fixed = client.post(
        CHECKOUT,
        {**data, "shipping-latitude": "50.46", "shipping-longitude": "30.52"},
    )

    assert refused.status_code == 400
    assert "Local delivery needs the latitude and longitude of your address." in (
        refused.content.decode()
    )
    assert fixed.status_code == 302
    order = Order.objects.get(user=shop.buyer)
    assert (order.shipping_method, order.shipping_amount) == ("local_delivery", Decimal("3.00"))


# --- refusals are messages, never errors ---------------------------------------------------


def test_adding_more_than_the_stock_says_how_many_are_left(shop: Shop) -> None:
    visitor = Client()

    response = visitor.post(CART_ADD, {"product_id": str(shop.drill.pk), "quantity": "9"})

    assert response.status_code == 302
    assert "Only 5 of Hand drill available." in messages_of(response)
    assert not CartItem.objects.exists()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({"product_id": "nope", "quantity": "1"}, "Choose a quantity", id="bad-id"),
        pytest.param({"quantity": "1"}, "Choose a quantity", id="no-product"),
        pytest.param({"product_id": "{drill}", "quantity": "0"}, "Choose a quantity", id="zero"),
        pytest.param(
            {"product_id": "00000000-0000-0000-0000-000000000000", "quantity": "1"},
            "That product is not for sale.",
            id="unknown",
        ),
    ],
)
def test_a_bad_add_to_cart_is_a_message(shop: Shop, data: dict[str, str], expected: str) -> None:
    data = {key: value.replace("{drill}", str(shop.drill.pk)) for key, value in data.items()}

    response = Client().post(CART_ADD, data)

    assert response.status_code == 302
    assert any(expected in text for text in messages_of(response))
    assert not CartItem.objects.exists()


@pytest.mark.parametrize(
    ("markets", "change", "expected"),
    [
        pytest.param(
            "both",
            {"voucher_code": "NOPE"},
            "This voucher is not valid for your cart.",
            id="voucher",
        ),
        pytest.param(
            "kyiv",
            {"payment_method": "cash_on_pickup", "shipping_{kyiv}": "shipping"},
            "Kyiv Parts does not take this way of paying (cash is paid on pickup).",
            id="cash-but-posted",
        ),
        pytest.param(
            "both",
            {"payment_method": "cash_on_pickup"},
            "Select a valid choice.",
            id="cash-not-taken-by-all",
        ),
    ],
)
def test_checkout_refusals_render_as_messages_and_change_nothing(
    shop: Shop, markets: str, change: dict[str, str], expected: str
) -> None:
    lines = [(shop.drill, 1)] if markets == "kyiv" else [(shop.drill, 1), (shop.bits, 1)]
    fill_cart(shop.buyer, *lines)
    client = signed_in(shop.buyer)
    data = checkout_data(
        client, **{key.replace("{kyiv}", str(shop.kyiv.pk)): v for key, v in change.items()}
    )

    response = client.post(CHECKOUT, data)

    assert response.status_code == 400
    assert expected in response.content.decode()
    assert not Order.objects.exists()
    assert CartItem.objects.filter(cart__user=shop.buyer).count() == len(lines)


def test_checkout_says_when_the_stock_ran_out_meanwhile(shop: Shop) -> None:
    fill_cart(shop.buyer, (shop.drill, 3))
    client = signed_in(shop.buyer)
    data = checkout_data(client)
    services.product_stock_change(
        product=shop.drill, change=-4, reason="adjust", note="Broken", acting_user=shop.owner
    )

    response = client.post(CHECKOUT, data)

    assert response.status_code == 400
    assert "Only 1 of Hand drill available." in response.content.decode()
    assert not Order.objects.exists()


def test_an_incomplete_checkout_form_shows_its_errors(shop: Shop) -> None:
    fill_cart(shop.buyer, (shop.drill, 1))
    client = signed_in(shop.buyer)
    data = checkout_data(client, **{"shipping-city": "", "billing_same": ""})
    del data[f"shipping_{shop.kyiv.pk}"]

    response = client.post(CHECKOUT, data)

    assert response.status_code == 400
    assert response.context["shipping_form"].errors["city"]
    assert response.context["billing_form"].errors["line1"]
    assert response.context["form"].errors[f"shipping_{shop.kyiv.pk}"]
    assert not Order.objects.exists()


def test_an_empty_cart_has_nothing_to_check_out(shop: Shop) -> None:
    response = signed_in(shop.buyer).get(CHECKOUT)

    assert response.status_code == 302
    assert response["Location"] == CART


# --- the cart ------------------------------------------------------------------------------


def test_the_cart_changes_and_removes_lines_and_previews_a_voucher(shop: Shop) -> None:
    cart = fill_cart(shop.buyer, (shop.drill, 1), (shop.bits, 2))
    Voucher.objects.create(code="TEN", kind="percent", value=Decimal("10"))
    client = signed_in(shop.buyer)
    drill_line = CartItem.objects.get(cart=cart, product=shop.drill)
    bits_line = CartItem.objects.get(cart=cart, product=shop.bits)
    url = reverse("store:cart-item", kwargs={"item_id": drill_line.pk})

    raised = client.post(url, {"quantity": "3"})
    too_many = client.post(url, {"quantity": "6"})
    removed = client.post(
        reverse("store:cart-item", kwargs={"item_id": bits_line.pk}), {"remove": "on"}
    )
    page = client.get(CART, {"voucher": "ten"})

    assert raised.status_code == 302
    assert "Only 5 of Hand drill available." in messages_of(too_many)
    assert "Drill bits is out of your cart." in messages_of(removed)
    drill_line.refresh_from_db()
    assert drill_line.quantity == 3
    assert not CartItem.objects.filter(pk=bits_line.pk).exists()
    assert "The voucher TEN takes 9.00 EUR off." in page.content.decode()
    assert "?voucher=TEN" in page.content.decode()


def test_a_line_of_someone_elses_cart_is_not_found(shop: Shop) -> None:
    cart = fill_cart(shop.buyer, (shop.drill, 1))
    line = CartItem.objects.get(cart=cart)
    url = reverse("store:cart-item", kwargs={"item_id": line.pk})

    stranger = signed_in(shop.stranger).post(url, {"quantity": "2"})
    visitor = Client().post(url, {"remove": "on"})

    assert stranger.status_code == 404
    assert visitor.status_code == 404
    line.refresh_from_db()
    assert line.quantity == 1


def test_a_visitor_is_sent_to_sign_in_from_the_cart(shop: Shop) -> None:
    visitor = Client()
    visitor.post(CART_ADD, {"product_id": str(shop.bits.pk), "quantity": "1"})

    page = visitor.get(CART)

    assert "Sign in to check out" in page.content.decode()
    assert f'href="/accounts/login/?next={CHECKOUT}"' in page.content.decode()


# --- paying and the member's orders ----------------------------------------------------------


def test_a_declined_test_card_leaves_the_orders_waiting_and_paying_later_works(
    shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    payment = place_order(shop.buyer, (shop.drill, 1))
    order = Order.objects.get(payment=payment)
    order_url = reverse("store:order", kwargs={"order_number": order.order_number})

    declined = pay(shop.buyer, payment, django_capture_on_commit_callbacks, "failed")
    waiting = signed_in(shop.buyer).get(order_url)
    paid = pay(shop.buyer, payment, django_capture_on_commit_callbacks)
    again = pay(shop.buyer, payment, django_capture_on_commit_callbacks)

    assert declined.status_code == 302
    assert any("declined" in text for text in messages_of(declined))
    assert waiting.context["pay_url"] == reverse("store:pay", kwargs={"payment_id": payment.pk})
    assert "Pay now" in waiting.content.decode()
    assert "Payment received: your orders are paid." in messages_of(paid)
    assert "This order is already paid." in messages_of(again)
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("paid", "paid")
    assert len(mail.outbox) == 1


def test_the_buyer_cancels_a_pending_order_and_its_stock_comes_back(shop: Shop) -> None:
    payment = place_order(shop.buyer, (shop.drill, 2))
    order = Order.objects.get(payment=payment)
    client = signed_in(shop.buyer)
    cancel = reverse("store:order-cancel", kwargs={"order_number": order.order_number})

    cancelled = client.post(cancel)
    twice = client.post(cancel)

    assert cancelled.status_code == 302
    assert f"Order {order.order_number} is cancelled." in messages_of(cancelled)
    assert "The order is Cancelled, so it cannot become Cancelled." in messages_of(twice)
    order.refresh_from_db()
    assert order.status == "cancelled"
    shop.drill.refresh_from_db()
    assert shop.drill.stock_quantity == 5


def test_someone_elses_order_and_pay_page_are_not_found(shop: Shop) -> None:
    payment = place_order(shop.buyer, (shop.drill, 1))
    order = Order.objects.get(payment=payment)
    stranger = signed_in(shop.stranger)
    order_url = reverse("store:order", kwargs={"order_number": order.order_number})
    pay_url = reverse("store:pay", kwargs={"payment_id": payment.pk})
    cancel_url = reverse("store:order-cancel", kwargs={"order_number": order.order_number})

    assert stranger.get(order_url).status_code == 404
    assert stranger.get(pay_url).status_code == 404
    assert stranger.post(pay_url, {"outcome": "succeeded"}).status_code == 404
    assert stranger.post(cancel_url).status_code == 404
    assert Client().get(pay_url).status_code == 302
    assert Client().get(ORDERS).status_code == 302
    assert stranger.get(ORDERS).context["page"].paginator.count == 0
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("pending", "unpaid")
    # The emails link to an order by its id: the same page.
    by_id = signed_in(shop.buyer).get(reverse("store:order", kwargs={"order_number": order.pk}))
    assert by_id.context["order"] == order


def test_with_stripe_the_checkout_shows_the_card_step_and_the_order_waits(
    shop: Shop, settings: Any
) -> None:
    fill_cart(shop.buyer, (shop.drill, 1))
    client = signed_in(shop.buyer)

    with stripe_server.stripe_on(settings):
        response = client.post(CHECKOUT, checkout_data(client), follow=True)

    payment = Payment.objects.get(user=shop.buyer)
    card_url = reverse("store:card", kwargs={"payment_id": payment.pk})
    assert response.redirect_chain == [(card_url, 302)]
    assert response.status_code == 200
    assert payment.provider == "stripe"
    assert payment.client_secret
    content = response.content.decode()
    assert f'data-client-secret="{payment.client_secret}"' in content
    assert "Your payment is pending." in content
    assert Order.objects.get(payment=payment).status == "pending"


def test_with_stripe_down_at_checkout_the_orders_wait_and_the_card_step_starts_again(
    shop: Shop, settings: Any
) -> None:
    fill_cart(shop.buyer, (shop.drill, 2))
    client = signed_in(shop.buyer)
    stock = shop.drill.stock_quantity

    with stripe_server.stripe_on(settings) as stripe_api:
        stripe_api.fail_next.append(stripe_server.Failure("/v1/payment_intents", 503, "Down"))
        stripe_api.fail_next.append(stripe_server.Failure("/v1/payment_intents", 503, "Down"))
        placed = client.post(CHECKOUT, checkout_data(client), follow=True)
        payment = Payment.objects.get(user=shop.buyer)
        order = Order.objects.get(payment=payment)
        card_url = reverse("store:card", kwargs={"payment_id": payment.pk})
        order_page = client.get(reverse("store:order", kwargs={"order_number": order.order_number}))
        again = client.get(card_url)
        intents = stripe_api.calls("POST", "/v1/payment_intents")

    # Stripe down twice: at checkout, then when the card step opened.
    assert placed.redirect_chain == [(card_url, 302)]
    assert "Your orders are placed." in messages_of(placed)
    assert any("payment provider" in text for text in messages_of(placed))
    assert 'data-client-secret=""' in placed.content.decode()
    assert (order.status, order.payment_status) == ("pending", "unpaid")
    shop.drill.refresh_from_db()
    assert shop.drill.stock_quantity == stock - 2
    assert order_page.context["pay_url"] == card_url
    # The third try went through: the card step has its client secret.
    payment.refresh_from_db()
    assert payment.client_secret
    assert f'data-client-secret="{payment.client_secret}"' in again.content.decode()
    assert len(intents) == 3


def test_the_checkout_form_sent_again_after_stripe_failed_leads_to_its_orders(
    shop: Shop, settings: Any
) -> None:
    fill_cart(shop.buyer, (shop.drill, 1))
    client = signed_in(shop.buyer)
    data = checkout_data(client)

    with stripe_server.stripe_on(settings) as stripe_api:
        stripe_api.fail_next.append(stripe_server.Failure("/v1/payment_intents", 503, "Down"))
        first = client.post(CHECKOUT, data)
        again = client.post(CHECKOUT, data)

    payment = Payment.objects.get(user=shop.buyer)
    card_url = reverse("store:card", kwargs={"payment_id": payment.pk})
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == card_url
    assert "This order was placed already; here it is." in messages_of(again)
    assert Order.objects.filter(user=shop.buyer).count() == 1


def test_the_card_step_is_the_buyers_own_and_only_with_stripe(shop: Shop, settings: Any) -> None:
    fill_cart(shop.buyer, (shop.drill, 1))
    client = signed_in(shop.buyer)
    with stripe_server.stripe_on(settings):
        client.post(CHECKOUT, checkout_data(client))
        payment = Payment.objects.get(user=shop.buyer)
        card_url = reverse("store:card", kwargs={"payment_id": payment.pk})
        stranger = signed_in(shop.stranger).get(card_url)
        buyer = client.get(card_url)
    settings.STRIPE_SECRET_KEY = ""
    off = client.get(card_url)

    assert (stranger.status_code, buyer.status_code, off.status_code) == (404, 200, 404)


def test_the_pay_page_is_not_found_when_stripe_is_on(shop: Shop, settings: Any) -> None:
    payment = place_order(shop.buyer, (shop.drill, 1))
    settings.STRIPE_SECRET_KEY = "sk_test_on"

    response = signed_in(shop.buyer).get(reverse("store:pay", kwargs={"payment_id": payment.pk}))

    assert response.status_code == 404


# --- a market's orders ---------------------------------------------------------------------


def market_orders_url(market: Market) -> str:
    return reverse("store:market-orders", kwargs={"slug": market.slug})


def move(client: Client, order: Order, to: str, **more: str) -> Any:
    assert order.market is not None
    url = reverse(
        "store:market-order-move",
        kwargs={"slug": order.market.slug, "order_number": order.order_number},
    )
    return client.post(url, {"to": to, **more})


def test_the_owner_moves_a_paid_order_on_until_it_is_delivered(
    shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    payment = place_order(shop.buyer, (shop.drill, 1), method="shipping")
    pay(shop.buyer, payment, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    order = Order.objects.get(payment=payment)
    owner = signed_in(shop.owner)

    page = owner.get(market_orders_url(shop.kyiv))
    processing = move(owner, order, "processing")
    no_tracking = move(owner, order, "shipped")
    order.refresh_from_db()
    status_without_tracking = order.status
    with django_capture_on_commit_callbacks(execute=True):
        shipped = move(owner, order, "shipped", tracking_number="UA123456789")
    delivered = move(owner, order, "delivered")
    back = move(owner, order, "processing")

    assert page.status_code == 200
    assert [move["label"] for move in page.context["rows"][0]["moves"]] == [
        "Start processing",
        "Cancel the order",
    ]
    assert processing.status_code == 302
    assert f"Order {order.order_number} is now Processing." in messages_of(processing)
    assert status_without_tracking == "processing"
    assert any("tracking_number" in text for text in messages_of(no_tracking))
    assert f"Order {order.order_number} is now Shipped." in messages_of(shipped)
    assert f"Order {order.order_number} is now Delivered." in messages_of(delivered)
    assert "The order is Delivered, so it cannot become Processing." in messages_of(back)
    order.refresh_from_db()
    assert (order.status, order.tracking_number) == ("delivered", "UA123456789")
    assert len(mail.outbox) == 1
    assert "UA123456789" in mail.outbox[0].body


def test_the_owner_refunds_part_of_an_order_and_never_more_than_paid(
    shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    payment = place_order(shop.buyer, (shop.drill, 1))
    pay(shop.buyer, payment, django_capture_on_commit_callbacks)
    order = Order.objects.get(payment=payment)
    url = reverse(
        "store:market-order-refund",
        kwargs={"slug": shop.kyiv.slug, "order_number": order.order_number},
    )
    staff = signed_in(shop.staff)

    part = staff.post(url, {"amount": "10.00", "reason": "Scratched"})
    too_much = staff.post(url, {"amount": "100.00"})
    bad = staff.post(url, {"amount": "-1"})

    assert f"10.00 EUR refunded on order {order.order_number}." in messages_of(part)
    assert "At most 26.00 can be refunded on this order." in messages_of(too_much)
    assert any("amount above zero" in text for text in messages_of(bad))
    order.refresh_from_db()
    assert (order.amount_refunded, order.payment_status) == (
        Decimal("10.00"),
        PaymentStatus.PARTIALLY_REFUNDED,
    )
    shop.kyiv.refresh_from_db()
    assert shop.kyiv.total_revenue == Decimal("26.00")


def test_the_market_cancels_a_paid_order_and_the_buyer_gets_the_money_back(
    shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    payment = place_order(shop.buyer, (shop.drill, 1))
    pay(shop.buyer, payment, django_capture_on_commit_callbacks)
    order = Order.objects.get(payment=payment)

    with django_capture_on_commit_callbacks(execute=True):
        response = move(signed_in(shop.owner), order, "cancelled")

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.amount_refunded == order.total_amount
    shop.drill.refresh_from_db()
    assert shop.drill.stock_quantity == 5


def test_the_market_orders_page_filters_by_status_and_is_only_for_its_people(
    shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    paid = place_order(shop.buyer, (shop.drill, 1))
    pay(shop.buyer, paid, django_capture_on_commit_callbacks)
    place_order(shop.stranger, (shop.drill, 1))
    place_order(shop.stranger, (shop.bits, 1))
    url = market_orders_url(shop.kyiv)
    order = Order.objects.get(payment=paid)

    everything = signed_in(shop.staff).get(url)
    only_paid = signed_in(shop.owner).get(url, {"status": "paid"})
    outsider = signed_in(shop.other_owner)

    assert len(everything.context["rows"]) == 2
    assert [row["order"].pk for row in only_paid.context["rows"]] == [order.pk]
    assert outsider.get(url).status_code == 403
    assert move(outsider, order, "processing").status_code == 403
    assert Client().get(url).status_code == 302
    assert (
        signed_in(shop.owner)
        .get(reverse("store:market-orders", kwargs={"slug": "nowhere"}))
        .status_code
        == 404
    )
    order.refresh_from_db()
    assert order.status == "paid"


# --- languages and query counts --------------------------------------------------------------


def test_the_pages_render_in_ukrainian(shop: Shop, django_capture_on_commit_callbacks: Any) -> None:
    payment = place_order(shop.buyer, (shop.drill, 1))
    order = Order.objects.get(payment=payment)
    fill_cart(shop.buyer, (shop.bits, 1))
    for person in (shop.buyer, shop.owner):
        person.locale = "uk"
        person.save(update_fields=["locale"])
    owner = signed_in(shop.owner)
    buyer = signed_in(shop.buyer)

    pages = [
        buyer.get(CART),
        buyer.get(CHECKOUT),
        buyer.get(reverse("store:pay", kwargs={"payment_id": payment.pk})),
        buyer.get(ORDERS),
        buyer.get(reverse("store:order", kwargs={"order_number": order.order_number})),
        owner.get(market_orders_url(shop.kyiv)),
        # A visitor's browser chooses the language.
        Client().get(CART, headers={"accept-language": "uk"}),
    ]

    for response in pages:
        path = response.wsgi_request.path
        assert response.status_code == 200, path
        content = response.content.decode()
        assert '<html lang="uk">' in content, path
        assert "Магазин" in content, path


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_cart_and_order_pages_ask_the_same_number_of_queries_for_more_lines(
    shop: Shop, django_capture_on_commit_callbacks: Any
) -> None:
    extra = [
        product(
            market=shop.kyiv,
            category=shop.tools,
            actor=shop.owner,
            name=f"Screw {number}",
            price="1.00",
            stock=50,
        )
        for number in range(5)
    ]
    buyer = signed_in(shop.buyer)
    owner = signed_in(shop.owner)
    visitor = Client()

    def measure() -> tuple[int, ...]:
        order = Order.objects.filter(user=shop.buyer).order_by("-created_at").first()
        assert order is not None
        return (
            count_queries(buyer, CART),
            count_queries(visitor, CART),
            count_queries(buyer, ORDERS),
            count_queries(owner, market_orders_url(shop.kyiv)),
            count_queries(
                buyer, reverse("store:order", kwargs={"order_number": order.order_number})
            ),
        )

    place_order(shop.buyer, (shop.drill, 1))
    fill_cart(shop.buyer, (shop.drill, 1))
    visitor.post(CART_ADD, {"product_id": str(shop.drill.pk), "quantity": "1"})
    few = measure()

    for item in extra:
        place_order(shop.buyer, (item, 1))
    largest = place_order(shop.buyer, *((item, 2) for item in extra))
    pay(shop.buyer, largest, django_capture_on_commit_callbacks)
    fill_cart(shop.buyer, *((item, 1) for item in extra))
    for item in extra:
        visitor.post(CART_ADD, {"product_id": str(item.pk), "quantity": "1"})
    many = measure()

    assert few == many
