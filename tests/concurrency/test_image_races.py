"""Owners uploading pictures to one product at the same moment: the gallery's limit
holds (the count under the product's row lock is the last word), the positions stay
0..n-1 without a gap or a twin, and a refused upload leaves no file behind."""

from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from apps.core.exceptions import ApplicationError
from apps.store import images, services
from apps.store.models import ProductImage
from tests.concurrency.helpers import run_together
from tests.factories import CategoryFactory, MarketFactory
from tests.store.test_images import picture, stored_files, upload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


def test_sixteen_uploads_to_a_gallery_with_two_places_left_store_two(
    settings: Any, tmp_path: Path
) -> None:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)
    settings.STORE_IMAGES_PER_PRODUCT = 10
    market = MarketFactory.create()
    product = services.product_create(
        acting_user=market.owner,
        market=market,
        category=CategoryFactory.create(),
        name="Hand drill",
        sku="DRILL-1",
        price=Decimal("10.00"),
    )
    content = picture()
    for _ in range(8):
        images.product_image_add(product=product, upload=upload(content), acting_user=market.owner)

    def add(index: int) -> str:
        try:
            images.product_image_add(
                product=product,
                upload=upload(content, name=f"photo-{index}.png"),
                acting_user=market.owner,
            )
        except ApplicationError as error:
            return error.code
        return "ok"

    results = Counter(run_together(THREADS, add))

    assert results == {"ok": 2, "TOO_MANY_IMAGES": THREADS - 2}
    gallery = ProductImage.objects.filter(product=product)
    assert sorted(gallery.values_list("position", flat=True)) == list(range(10))
    # Exactly the kept pictures' files: every refused upload's file was deleted.
    assert stored_files(root) == sorted(gallery.values_list("image", flat=True))
