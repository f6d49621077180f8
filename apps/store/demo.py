"""Demo store: a category tree, the central MakrX catalogue of maker parts, two markets
(Kyiv Fab Lab's own, verified, with pickup and local delivery; an independent vendor,
not yet verified, shipping only), their products and a few reviews.

Everything is written through the store's services and found by its natural key
(a category's slug, a product's market and SKU, a market's owner, a review's product
and author) before it is created, so loading again changes nothing.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from apps.accounts.demo import DEMO_PASSWORD
from apps.accounts.models import Locale, User
from apps.accounts.services import user_register
from apps.makerspaces.models import Makerspace
from apps.store import services
from apps.store.demo_fabrication import load_fabrication
from apps.store.demo_images import load_images
from apps.store.demo_vouchers import load_vouchers
from apps.store.models import Category, Market, MarketClosure, Order, Product, Review
from apps.store.services import cart as cart_services
from apps.store.services import checkout as checkout_services
from apps.store.services import orders as order_services
from apps.store.services import payments

D = Decimal
VENDOR_EMAIL = "vendor@makrx.local"

# (slug, name, parent slug)
CATEGORIES = [
    ("electronics", "Electronics", None),
    ("microcontrollers", "Microcontrollers", "electronics"),
    ("sensors", "Sensors", "electronics"),
    ("3d-printing", "3D printing", None),
    ("filament", "Filament", "3d-printing"),
    ("tools", "Tools", None),
    ("hardware", "Hardware", None),
]


def _product(
    sku: str,
    name: str,
    category: str,
    price: str,
    stock: int,
    description: str,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": name,
        "category": category,
        "price": D(price),
        "opening_stock": stock,
        "description": description,
        **fields,
    }


CENTRAL_PRODUCTS = [
    _product(
        "MX-ESP32-DEVKIT",
        "ESP32 DevKit v1",
        "microcontrollers",
        "9.90",
        120,
        "Wi-Fi and Bluetooth microcontroller board, 38 pins.",
        is_featured=True,
        tags=["esp32", "wifi", "bluetooth"],
        specifications={"Chip": "ESP32-WROOM-32", "Voltage": "3.3 V", "Flash": "4 MB"},
        weight=D("0.010"),
    ),
    _product(
        "MX-RP2040-PICO",
        "Raspberry Pi Pico",
        "microcontrollers",
        "4.50",
        200,
        "RP2040 board: dual-core Cortex-M0+, 264 KB RAM.",
        sale_price=D("3.90"),
        tags=["rp2040", "raspberry pi"],
        specifications={"Chip": "RP2040", "Voltage": "3.3 V", "GPIO": 26},
    ),
    _product(
        "MX-ARDUINO-NANO",
        "Arduino Nano (compatible)",
        "microcontrollers",
        "6.20",
        80,
        "ATmega328P board with USB-C, breadboard friendly.",
        tags=["arduino", "atmega328p"],
    ),
    _product(
        "MX-STM32-BLUEPILL",
        "STM32 Blue Pill",
        "microcontrollers",
        "5.40",
        0,
        "STM32F103C8T6 board; out of stock until the next delivery.",
        tags=["stm32", "arm"],
    ),
    _product(
        "MX-BME280",
        "BME280 environment sensor",
        "sensors",
        "7.80",
        45,
        "Temperature, humidity and pressure over I²C or SPI.",
        is_featured=True,
        tags=["i2c", "weather"],
        specifications={"Interface": "I²C / SPI", "Voltage": "1.8–3.6 V"},
    ),
    _product(
        "MX-HCSR04",
        "HC-SR04 ultrasonic distance sensor",
        "sensors",
        "2.10",
        150,
        "2–400 cm ranging module.",
        sale_price=D("1.60"),
        tags=["distance", "ultrasonic"],
    ),
    _product(
        "MX-MPU6050",
        "MPU-6050 accelerometer and gyroscope",
        "sensors",
        "3.40",
        60,
        "6-axis motion sensor on a breakout board.",
        tags=["imu", "i2c"],
    ),
    _product(
        "MX-VL53L1X",
        "VL53L1X time-of-flight sensor",
        "sensors",
        "12.50",
        0,
        "Laser ranging up to 4 m; ships on backorder in about two weeks.",
        allow_backorder=True,
        tags=["distance", "lidar"],
    ),
    _product(
        "MX-PLA-BLK-1KG",
        "PLA filament black, 1 kg",
        "filament",
        "22.00",
        40,
        "1.75 mm PLA, ±0.02 mm, on a cardboard spool.",
        is_featured=True,
        tags=["pla", "1.75mm"],
        specifications={"Diameter": "1.75 mm", "Print temperature": "200–220 °C"},
        weight=D("1.250"),
    ),
    _product(
        "MX-PETG-CLR-1KG",
        "PETG filament clear, 1 kg",
        "filament",
        "26.00",
        25,
        "1.75 mm PETG: tough, food-safe grade.",
        sale_price=D("21.50"),
        tags=["petg", "1.75mm"],
        weight=D("1.250"),
    ),
    _product(
        "MX-TPU-95A",
        "TPU 95A flexible filament, 500 g",
        "filament",
        "19.00",
        12,
        "Flexible filament for gaskets, tyres and phone cases.",
        tags=["tpu", "flexible"],
    ),
    _product(
        "MX-SOLDER-STATION",
        "Soldering station 60 W",
        "tools",
        "49.00",
        10,
        "Temperature-controlled iron, 200–480 °C, with stand and sponge.",
        specifications={"Power": "60 W", "Range": "200–480 °C"},
    ),
    _product(
        "MX-CALIPER-150",
        "Digital caliper 150 mm",
        "tools",
        "18.50",
        30,
        "Stainless steel, 0.01 mm resolution.",
        tags=["measuring"],
    ),
    _product(
        "MX-M3-KIT",
        "M3 screw and nut kit (400 pcs)",
        "hardware",
        "11.00",
        70,
        "M3 screws 6–20 mm with nuts and washers, in a sorting box.",
        tags=["m3", "screws"],
    ),
    _product(
        "MX-HEATSET-M3",
        "M3 heat-set inserts (100 pcs)",
        "hardware",
        "8.00",
        55,
        "Brass inserts for 3D-printed parts.",
        tags=["m3", "inserts"],
    ),
]

KYIV_MARKET = {
    "name": "Kyiv Fab Lab shop",
    "slug": "kyiv-fab-lab-shop",
    "description": "Materials and parts from the lab's own shelves: pick them up at the lab "
    "or have them brought across Kyiv.",
    "contact_email": "shop@kyivfablab.example",
    "contact_phone": "+380 44 000 0000",
    "address": "Kostiantynivska St 2, Kyiv",
    "latitude": D("50.464200"),
    "longitude": D("30.515100"),
    "timezone": "Europe/Kyiv",
    "currency": "UAH",
    "business_hours": {
        "mon": [["10:00", "14:00"], ["15:00", "20:00"]],
        "tue": [["10:00", "20:00"]],
        "wed": [["10:00", "20:00"]],
        "thu": [["10:00", "20:00"]],
        "fri": [["10:00", "20:00"]],
        "sat": [["11:00", "17:00"]],
        "sun": [],
    },
    "delivery_options": {
        "pickup": {"enabled": True},
        "local_delivery": {
            "enabled": True,
            "radius_km": 15,
            "fee": "80.00",
            "minimum_order": "500.00",
        },
    },
    "payment_methods": ["card", "cash_on_pickup"],
}
KYIV_PRODUCTS = [
    _product(
        "KFL-PLY-3MM",
        "Plywood sheet 3 mm, 600×400",
        "hardware",
        "120.00",
        40,
        "Birch plywood cut to the laser bed.",
        is_featured=True,
        tags=["laser", "plywood"],
    ),
    _product(
        "KFL-ACR-3MM",
        "Acrylic sheet 3 mm, 600×400",
        "hardware",
        "390.00",
        8,
        "Cast acrylic, clear, for the laser cutter.",
        sale_price=D("350.00"),
        tags=["laser", "acrylic"],
    ),
    _product(
        "KFL-PLA-WHT",
        "PLA filament white, 1 kg",
        "filament",
        "780.00",
        15,
        "The same PLA the lab prints with.",
        tags=["pla"],
    ),
    _product(
        "KFL-LASER-HOUR",
        "Laser cutter hour voucher",
        "tools",
        "450.00",
        0,
        "One hour on the CO2 laser; book the slot in the lab's calendar.",
        track_inventory=False,
    ),
]

VENDOR_MARKET = {
    "name": "Volt & Bolt",
    "slug": "volt-and-bolt",
    "description": "An independent electronics vendor from Dnipro: boards, sensors and "
    "cables, shipped across Ukraine.",
    "contact_email": VENDOR_EMAIL,
    "address": "Dnipro",
    "timezone": "Europe/Kyiv",
    "currency": "UAH",
    "business_hours": {
        "mon": [["09:00", "18:00"]],
        "tue": [["09:00", "18:00"]],
        "wed": [["09:00", "18:00"]],
        "thu": [["09:00", "18:00"]],
        "fri": [["09:00", "17:00"]],
        "sat": [],
        "sun": [],
    },
    "delivery_options": {"shipping": {"enabled": True, "fee": "70.00"}},
    "payment_methods": ["card"],
}
VENDOR_PRODUCTS = [
    _product(
        "VB-ESP32-C3",
        "ESP32-C3 SuperMini",
        "microcontrollers",
        "190.00",
        60,
        "Tiny RISC-V Wi-Fi board with USB-C.",
        tags=["esp32", "risc-v"],
    ),
    _product(
        "VB-DHT22",
        "DHT22 temperature and humidity sensor",
        "sensors",
        "150.00",
        35,
        "Digital sensor, ±0.5 °C.",
        sale_price=D("125.00"),
        tags=["humidity"],
    ),
    _product(
        "VB-DUPONT-120",
        "Dupont jumper wires, 120 pcs",
        "hardware",
        "95.00",
        100,
        "Male-male, male-female and female-female, 20 cm.",
        tags=["wires"],
    ),
]

# (product SKU, market slug or None, author email, rating, title, comment)
REVIEWS = [
    (
        "MX-ESP32-DEVKIT",
        None,
        "member@makrx.local",
        5,
        "Works out of the box",
        "Flashed MicroPython in two minutes.",
    ),
    ("MX-ESP32-DEVKIT", None, "newbie@makrx.local", 4, "Good board", "Pins are a bit tight."),
    ("MX-PLA-BLK-1KG", None, "member@makrx.local", 5, "Clean prints", ""),
    ("MX-BME280", None, "manager@makrx.local", 4, "", "Accurate enough for the lab's weather box."),
    ("KFL-PLY-3MM", "kyiv-fab-lab-shop", "member@makrx.local", 5, "Flat sheets", ""),
    ("VB-DHT22", "volt-and-bolt", "newbie@makrx.local", 3, "Slow to arrive", "Works fine."),
]


def _user(email: str) -> User:
    return User.objects.get(email=email)


def _categories(super_admin: User) -> dict[str, Category]:
    found = {category.slug: category for category in Category.objects.all()}
    for position, (slug, name, parent) in enumerate(CATEGORIES):
        if slug not in found:
            found[slug] = services.category_create(
                acting_user=super_admin,
                name=name,
                slug=slug,
                parent=found[parent] if parent else None,
                position=position,
            )
    return found


def _products(
    specs: list[dict[str, Any]],
    market: Market | None,
    categories: dict[str, Category],
    seller: User,
) -> None:
    existing = set(Product.objects.filter(market=market).values_list("sku", flat=True))
    for spec in specs:
        if spec["sku"] in existing:
            continue
        fields = dict(spec)
        services.product_create(
            acting_user=seller,
            market=market,
            category=categories[fields.pop("category")],
            name=fields.pop("name"),
            sku=fields.pop("sku"),
            price=fields.pop("price"),
            **fields,
        )


def _vendor() -> User:
    vendor = User.objects.filter(email=VENDOR_EMAIL).first()
    if vendor is None:
        vendor = user_register(
            email=VENDOR_EMAIL, name="Vira Vendor", password=DEMO_PASSWORD, locale=Locale.UK
        )
    return vendor


def _market(owner: User, spec: dict[str, Any], **fields: Any) -> Market:
    market = Market.objects.filter(owner=owner).first()
    if market is None:
        market = services.market_create(acting_user=owner, **spec, **fields)
    return market


def load(*, stdout: Any, style: Any) -> None:
    super_admin = _user("admin@makrx.local")
    categories = _categories(super_admin)
    _products(CENTRAL_PRODUCTS, None, categories, super_admin)

    kyiv = Makerspace.objects.get(slug="kyiv-fab-lab")
    # The admin of Kyiv Fab Lab runs its shop: one market per owner.
    space_admin = _user("owner@makrx.local")
    kyiv_market = _market(space_admin, KYIV_MARKET, makerspace=kyiv)
    if not kyiv_market.verified:
        services.market_verify(market=kyiv_market, acting_user=super_admin)
    _products(KYIV_PRODUCTS, kyiv_market, categories, space_admin)
    year = timezone.localdate().year
    for day, reason in [(date(year, 12, 25), "Christmas"), (date(year + 1, 1, 1), "New Year")]:
        if not MarketClosure.objects.filter(market=kyiv_market, date=day).exists():
            services.market_closure_add(
                market=kyiv_market, acting_user=space_admin, date=day, reason=reason
            )

    vendor = _vendor()
    vendor_market = _market(vendor, VENDOR_MARKET)
    _products(VENDOR_PRODUCTS, vendor_market, categories, vendor)

    markets = {kyiv_market.slug: kyiv_market, vendor_market.slug: vendor_market}
    for sku, market_slug, email, rating, title, comment in REVIEWS:
        market = markets[market_slug] if market_slug else None
        product = Product.objects.get(market=market, sku=sku)
        author = _user(email)
        if Review.objects.filter(product=product, user=author).exists():
            continue
        services.review_create(
            product=product, acting_user=author, rating=rating, title=title, comment=comment
        )

    _orders(markets, owners={kyiv_market.slug: space_admin, vendor_market.slug: vendor})
    load_vouchers(stdout=None)
    load_images(stdout=None)
    load_fabrication(stdout=None)

    stdout.write(
        f"  Store: {len(CENTRAL_PRODUCTS)} parts in the MakrX catalogue; markets "
        f"{kyiv_market.name} (verified, owner@makrx.local) and {vendor_market.name} "
        f"(unverified, {VENDOR_EMAIL} / {DEMO_PASSWORD}); vouchers WELCOME10, LAUNCH20 "
        "and KYIV5; member@makrx.local has paid orders from both markets; a 3D-print "
        "price list at Kyiv Fab Lab."
    )


DEMO_ADDRESS = {
    "name": "Demo Member",
    "line1": "Khreshchatyk 22",
    "city": "Kyiv",
    "postal_code": "01001",
    "country": "UA",
}


def _orders(markets: dict[str, Market], *, owners: dict[str, User]) -> None:
    """One checkout of the demo member from both markets, paid in test mode: the Kyiv
    order being prepared for pickup, the vendor's shipped. Checked out through the
    cart, checkout and payment services, so stock, ledger and the markets' figures
    move as they would for a real buyer."""
    member = _user("member@makrx.local")
    if Order.objects.filter(user=member).exists():
        return
    kyiv, vendor = markets["kyiv-fab-lab-shop"], markets["volt-and-bolt"]
    cart = cart_services.user_cart(member)
    for market, sku, quantity in [(kyiv, "KFL-PLY-3MM", 2), (vendor, "VB-ESP32-C3", 1)]:
        cart_services.cart_add_item(
            cart=cart,
            product=Product.objects.get(market=market, sku=sku),
            quantity=quantity,
            acting_user=member,
        )
    result = checkout_services.checkout(
        user=member,
        shipping_address=DEMO_ADDRESS,
        billing_address=DEMO_ADDRESS,
        shipping_method="pickup",
        shipping_methods={str(vendor.pk): "shipping"},
    )
    payments.payment_settle(
        payment=result.payment,
        outcome="succeeded",
        event_id=f"test-demo-{result.payment.pk}",
        provider=result.payment.provider,
    )
    for order in Order.objects.filter(payment=result.payment):
        owner = owners[order.market.slug] if order.market else None
        if owner is None:
            continue
        order_services.order_transition(order=order, to="processing", acting_user=owner)
        if order.market_id == vendor.pk:
            order_services.order_transition(
                order=order, to="shipped", acting_user=owner, tracking_number="UA-NP-20450012345"
            )
