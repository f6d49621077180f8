"""Pictures for the demo store, drawn here with Pillow so the repository holds no
binary files: a coloured card with a simple shape and the product's name, uploaded
through the image service as the super admin.

Loading again changes nothing: a product that has a picture already is left alone, and
a product that is not there (the demo store not loaded) is skipped.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from apps.accounts.models import User
from apps.store import images
from apps.store.models import Product, ProductImage

DEMO_ADMIN = "admin@makrx.local"
SIZE = (640, 480)
# (market slug or None for the MakrX catalogue, SKU, background, shape, label)
PICTURES: list[tuple[str | None, str, str, str, str]] = [
    (None, "MX-ESP32-DEVKIT", "#1f4e79", "board", "ESP32 DevKit"),
    (None, "MX-RP2040-PICO", "#2e7d32", "board", "Raspberry Pi Pico"),
    (None, "MX-BME280", "#6a1b9a", "chip", "BME280"),
    (None, "MX-PLA-BLK-1KG", "#263238", "spool", "PLA black 1 kg"),
    (None, "MX-CALIPER-150", "#b71c1c", "ruler", "Caliper 150 mm"),
    ("kyiv-fab-lab-shop", "KFL-PLY-3MM", "#8d6e63", "sheet", "Plywood 3 mm"),
    ("volt-and-bolt", "VB-ESP32-C3", "#00695c", "chip", "ESP32-C3 SuperMini"),
]


def _font(size: int) -> Any:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # a Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _shape(draw: ImageDraw.ImageDraw, shape: str) -> None:
    light = "#f5f5f5"
    if shape == "board":
        draw.rounded_rectangle((170, 110, 470, 290), radius=14, fill="#0b3d1f", outline=light)
        draw.rectangle((270, 160, 370, 240), fill="#111111")
        for x in range(185, 460, 18):
            draw.ellipse((x, 120, x + 8, 128), fill="#d4af37")
            draw.ellipse((x, 272, x + 8, 280), fill="#d4af37")
    elif shape == "chip":
        draw.rectangle((250, 130, 390, 270), fill="#111111", outline=light, width=3)
        for offset in range(145, 260, 22):
            draw.line((230, offset, 250, offset), fill=light, width=5)
            draw.line((390, offset, 410, offset), fill=light, width=5)
    elif shape == "spool":
        draw.ellipse((210, 90, 430, 310), fill="#111111", outline=light, width=6)
        draw.ellipse((285, 165, 355, 235), fill=light)
    elif shape == "ruler":
        draw.rectangle((120, 170, 520, 230), fill="#eceff1", outline="#263238", width=3)
        for x in range(130, 520, 20):
            draw.line((x, 170, x, 190 if x % 100 else 205), fill="#263238", width=2)
    else:
        draw.polygon(((180, 270), (260, 120), (470, 130), (400, 285)), fill="#d7ccc8")


def draw_picture(*, label: str, background: str, shape: str) -> bytes:
    """A PNG card with a shape and ``label`` under it."""
    picture = Image.new("RGB", SIZE, background)
    draw = ImageDraw.Draw(picture)
    _shape(draw, shape)
    font = _font(36)
    left, _top, right, _bottom = draw.textbbox((0, 0), label, font=font)
    position = ((SIZE[0] - (right - left)) / 2, 360)
    draw.text(position, label, fill="#ffffff", font=font)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def load_images(stdout: Any = None) -> int:
    """Give the demo products their pictures; returns how many were added."""
    admin = (
        User.objects.filter(is_superuser=True, is_active=True).filter(email=DEMO_ADMIN).first()
        or User.objects.filter(is_superuser=True, is_active=True).order_by("created_at").first()
    )
    if admin is None:
        return 0
    added = 0
    for market_slug, sku, background, shape, label in PICTURES:
        products = Product.objects.select_related("market").filter(sku=sku)
        if market_slug is None:
            products = products.filter(market__isnull=True)
        else:
            products = products.filter(market__slug=market_slug)
        product = products.first()
        if product is None or ProductImage.objects.filter(product=product).exists():
            continue
        images.product_image_add(
            product=product,
            upload=draw_picture(label=label, background=background, shape=shape),
            alt_text=label,
            acting_user=admin,
        )
        added += 1
    if stdout is not None and added:
        stdout.write(f"  Store: {added} product pictures drawn.")
    return added
