"""Product pictures through the API: upload, list, change, remove; the `images` URLs of
the product shapes (lean rows equal to the serializer, at a constant query count);
and the same flow against an S3-compatible server on loopback."""

import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.store import images, selectors, services
from apps.store.api import presenters
from apps.store.api.serializers import ProductSerializer
from apps.store.models import Product, ProductImage
from tests.lean import assert_lean_matches
from tests.s3_server import S3Bucket, s3_server, s3_storage  # noqa: F401  (fixtures)
from tests.store.conftest import Store, client_for
from tests.store.test_images import picture, png_claiming, stored_files, upload

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/store/products/"
ALLOWED = {"allowed": ["image/jpeg", "image/png", "image/webp"]}


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)
    return root


def product(
    store: Store, name: str = "Hand drill", market: Any = "own", stock: int = 2, **fields: Any
) -> Product:
    market = store.market if market == "own" else market
    return services.product_create(
        acting_user=store.owner if market is not None else store.admin,
        market=market,
        category=store.tools,
        name=name,
        sku=name.upper().replace(" ", "-"),
        price=Decimal("10.00"),
        opening_stock=stock,
        **fields,
    )


def images_url(item: Product, image_id: Any = None) -> str:
    url = f"{PRODUCTS}{item.pk}/images"
    return url if image_id is None else f"{url}/{image_id}"


def post_picture(client: APIClient, item: Product, content: bytes, **fields: Any) -> Any:
    body = {"image": upload(content, fields.pop("name", "photo.png")), **fields}
    return client.post(images_url(item), body, format="multipart")


def error_of(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


# --- upload --------------------------------------------------------------------------------


def test_an_owner_uploads_a_picture_and_the_product_shows_its_url(store: Store) -> None:
    drill = product(store)
    client = store.client("owner")

    response = post_picture(client, drill, picture("JPEG", size=(30, 20)), alt_text="Front")
    second = post_picture(client, drill, picture("PNG"))

    assert response.status_code == 201, response.content
    body = response.json()
    image = ProductImage.objects.get(pk=body["id"])
    assert body == {
        "id": str(image.pk),
        "url": f"/media/store/products/{drill.pk}/{image.pk}.jpg",
        "alt_text": "Front",
        "position": 0,
        "width": 30,
        "height": 20,
    }
    assert second.json()["position"] == 1
    detail = client_for(None).get(f"{PRODUCTS}{drill.pk}/").json()
    listed = client_for(None).get(PRODUCTS).json()["data"]
    assert detail["images"] == [body["url"], second.json()["url"]]
    assert [row["images"] for row in listed if row["id"] == str(drill.pk)] == [detail["images"]]
    gallery = client_for(None).get(images_url(drill)).json()
    assert [row["id"] for row in gallery["data"]] == [body["id"], second.json()["id"]]
    assert gallery["data"][0] == body


def test_a_product_without_pictures_shows_an_empty_list(store: Store) -> None:
    drill = product(store)

    assert client_for(None).get(f"{PRODUCTS}{drill.slug}/").json()["images"] == []


def test_the_product_version_moves_with_its_pictures(store: Store) -> None:
    drill = product(store)
    before = client_for(None).get(f"{PRODUCTS}{drill.pk}/")["ETag"]

    post_picture(store.client("owner"), drill, picture())

    assert client_for(None).get(f"{PRODUCTS}{drill.pk}/")["ETag"] != before


@pytest.mark.parametrize(
    ("label", "content", "code", "details"),
    [
        (
            "gif",
            picture("GIF"),
            "IMAGE_TYPE",
            {"allowed": ["image/jpeg", "image/png", "image/webp"]},
        ),
        (
            "text",
            b"not an image",
            "IMAGE_TYPE",
            {"allowed": ["image/jpeg", "image/png", "image/webp"]},
        ),
        ("truncated png", picture("PNG", size=(64, 64))[:70], "IMAGE_UNREADABLE", {}),
        ("empty", b"", "IMAGE_UNREADABLE", {}),
        (
            "bomb",
            png_claiming(30_000, 30_000),
            "IMAGE_TOO_LARGE",
            {"max_bytes": 5 * 1024 * 1024, "max_pixels": 40_000_000},
        ),
    ],
)
def test_a_bad_file_answers_400_naming_why_and_nothing_is_stored(
    store: Store, media: Path, label: str, content: bytes, code: str, details: dict[str, Any]
) -> None:
    drill = product(store)

    response = post_picture(store.client("owner"), drill, content)

    assert response.status_code == 400
    assert (error_of(response)["code"], error_of(response)["details"]) == (code, details)
    assert not ProductImage.objects.exists()
    assert stored_files(media) == []


def test_a_file_over_the_byte_limit_is_too_large(store: Store, settings: Any) -> None:
    drill = product(store)
    content = picture(size=(64, 64))
    settings.STORE_IMAGE_MAX_BYTES = len(content) - 1

    response = post_picture(store.client("owner"), drill, content)

    assert response.status_code == 400
    assert error_of(response)["code"] == "IMAGE_TOO_LARGE"
    assert error_of(response)["details"]["max_bytes"] == len(content) - 1


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(
    store: Store, settings: Any
) -> None:
    drill = product(store)
    settings.STORE_IMAGE_MAX_BYTES = 1000
    content = b"\x89PNG\r\n\x1a\n" + b"\x00" * (images.MULTIPART_ALLOWANCE + 2000)

    response = post_picture(store.client("owner"), drill, content)

    assert response.status_code == 400
    assert error_of(response)["code"] == "IMAGE_TOO_LARGE"
    assert error_of(response)["details"]["max_bytes"] == 1000


def test_the_eleventh_picture_is_refused(store: Store) -> None:
    drill = product(store)
    client = store.client("staff")
    answers = [post_picture(client, drill, picture()).status_code for _ in range(10)]

    response = post_picture(client, drill, picture())

    assert answers == [201] * 10
    assert response.status_code == 400
    assert error_of(response)["code"] == "TOO_MANY_IMAGES"
    assert error_of(response)["details"] == {"max_images": 10}
    assert ProductImage.objects.filter(product=drill).count() == 10


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "image"),
        ({"image": "just text"}, "image"),
        ({"image": "FILE", "alt_text": "x" * 201}, "alt_text"),
        ({"image": "FILE", "position": "2"}, "position"),
    ],
)
def test_a_malformed_upload_answers_400_naming_the_field(
    store: Store, body: dict[str, Any], field: str
) -> None:
    drill = product(store)
    body = {name: upload(picture()) if value == "FILE" else value for name, value in body.items()}

    response = store.client("owner").post(images_url(drill), body, format="multipart")

    assert response.status_code == 400
    assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert field in error_of(response)["details"]
    assert not ProductImage.objects.exists()


def test_a_json_body_is_not_an_upload(store: Store) -> None:
    drill = product(store)

    response = store.client("owner").post(images_url(drill), {"image": "x"}, format="json")

    assert response.status_code == 415
    assert error_of(response)["code"] == "UNSUPPORTED_MEDIA_TYPE"


@pytest.mark.parametrize(
    ("who", "central", "inactive", "status"),
    [
        (None, False, False, 401),
        ("other", False, False, 403),
        ("other", False, True, 404),
        ("owner", True, False, 403),
        ("staff", False, False, 201),
        ("owner", False, True, 201),
        ("admin", True, False, 201),
    ],
    ids=[
        "anonymous",
        "another user",
        "another user, hidden product",
        "owner, central catalogue",
        "staff",
        "owner, hidden product",
        "super admin, central catalogue",
    ],
)
def test_who_may_upload(
    store: Store, media: Path, who: str | None, central: bool, inactive: bool, status: int
) -> None:
    item = product(store, market=None if central else "own", is_active=not inactive)

    response = post_picture(store.client(who), item, picture())

    assert response.status_code == status
    assert ProductImage.objects.filter(product=item).count() == (1 if status == 201 else 0)
    if status != 201:
        assert stored_files(media) == []


# --- change and remove ---------------------------------------------------------------------


def _pictures(store: Store, item: Product, count: int) -> list[str]:
    client = store.client("owner")
    return [
        post_picture(client, item, picture(), alt_text=str(n)).json()["id"] for n in range(count)
    ]


def test_patch_moves_a_picture_and_changes_its_description(store: Store) -> None:
    drill = product(store)
    first, second, third = _pictures(store, drill, 3)
    client = store.client("staff")

    moved = client.patch(
        images_url(drill, third), {"position": 0, "alt_text": "Box"}, format="json"
    )
    bad = client.patch(images_url(drill, first), {"position": -1}, format="json")
    unknown = client.patch(images_url(drill, first), {"width": 5}, format="json")

    assert moved.status_code == 200
    assert (moved.json()["position"], moved.json()["alt_text"]) == (0, "Box")
    assert (bad.status_code, unknown.status_code) == (400, 400)
    listed = client_for(None).get(images_url(drill)).json()["data"]
    assert [(row["id"], row["position"]) for row in listed] == [
        (third, 0),
        (first, 1),
        (second, 2),
    ]
    urls = client_for(None).get(f"{PRODUCTS}{drill.pk}/").json()["images"]
    assert urls == [row["url"] for row in listed]


def test_delete_removes_the_picture_and_its_file(
    store: Store, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    drill = product(store)
    first, second = _pictures(store, drill, 2)
    name = ProductImage.objects.get(pk=first).image.name

    with django_capture_on_commit_callbacks(execute=True):
        response = store.client("owner").delete(images_url(drill, first))
    again = store.client("owner").delete(images_url(drill, first))

    assert response.status_code == 204
    assert again.status_code == 404
    assert not (media / name).exists()
    assert list(ProductImage.objects.values_list("id", "position")) == [
        (ProductImage.objects.get().pk, 0)
    ]
    assert str(ProductImage.objects.get().pk) == second


def test_deleting_a_product_deletes_its_pictures_files(
    store: Store, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    drill = product(store, stock=0)
    kept = product(store, "Saw")
    _pictures(store, drill, 2)
    _pictures(store, kept, 1)
    names = [picture.image.name for picture in ProductImage.objects.filter(product=drill)]
    kept_name = ProductImage.objects.get(product=kept).image.name

    # The saw's stock ledger keeps it: it is deactivated, not deleted.
    with django_capture_on_commit_callbacks(execute=True):
        gone = store.client("owner").delete(f"{PRODUCTS}{drill.pk}/")
        deactivated = store.client("owner").delete(f"{PRODUCTS}{kept.pk}/")

    assert (gone.status_code, deactivated.status_code) == (204, 204)
    assert len(names) == 2
    assert not any((media / name).exists() for name in names)
    assert not Product.objects.filter(pk=drill.pk).exists()
    assert (media / kept_name).exists()
    assert ProductImage.objects.filter(product=kept).count() == 1


def test_who_may_change_or_remove_a_picture(store: Store) -> None:
    drill = product(store)
    saw = product(store, "Saw")
    (picture_id,) = _pictures(store, drill, 1)

    anonymous = client_for(None).delete(images_url(drill, picture_id))
    other = store.client("other").delete(images_url(drill, picture_id))
    other_patch = store.client("other").patch(
        images_url(drill, picture_id), {"alt_text": "mine"}, format="json"
    )
    wrong_product = store.client("owner").delete(images_url(saw, picture_id))
    not_a_uuid = store.client("owner").delete(f"{images_url(drill)}/not-a-uuid")

    assert (anonymous.status_code, other.status_code, other_patch.status_code) == (401, 403, 403)
    assert (wrong_product.status_code, not_a_uuid.status_code) == (404, 404)
    assert error_of(other)["code"] == "PERMISSION_DENIED"
    assert ProductImage.objects.get().alt_text == "0"


# --- the product shapes --------------------------------------------------------------------


def test_lean_rows_with_pictures_match_the_serializer(store: Store) -> None:
    drill = product(store)
    saw = product(store, "Saw")
    product(store, "Bare")
    pictures = _pictures(store, drill, 3)
    _pictures(store, saw, 1)
    images.product_image_move(
        image=ProductImage.objects.get(pk=pictures[2]), position=0, acting_user=store.owner
    )

    rows = {row["id"]: row for row in selectors.product_rows(Product.objects.all())}
    compared = assert_lean_matches(
        lambda p: presenters.product_row(rows[p.pk]),
        ProductSerializer,
        Product.objects.select_related("category").prefetch_related("images"),
    )

    assert compared == 3
    assert presenters.product_row(rows[drill.pk])["images"][0].endswith(f"/{pictures[2]}.png")


def test_the_list_costs_the_same_queries_with_or_without_pictures(store: Store) -> None:
    for number in range(30):
        item = product(store, f"Nut {number}")
        if number % 2:
            _pictures(store, item, 2)

    counts = {}
    for limit in (2, 25):
        with CaptureQueriesContext(connection) as queries:
            response = client_for(None).get(f"{PRODUCTS}?limit={limit}&sort=newest")
        assert response.status_code == 200
        assert sum(len(row["images"]) for row in response.json()["data"]) > 0
        counts[limit] = [query["sql"] for query in queries]

    assert len(counts[2]) == len(counts[25]) == 2, counts  # count, page
    # The pictures ride in the page's own query, and the count leaves them out.
    count_sql, page_sql = counts[25]
    assert "store_productimage" not in count_sql
    assert "store_productimage" in page_sql


# --- S3 -------------------------------------------------------------------------------------


def test_pictures_go_to_s3_when_a_bucket_is_set(
    store: Store,
    s3_storage: S3Bucket,  # noqa: F811
    media: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    drill = product(store)
    content = picture("PNG", size=(16, 12))

    response = post_picture(
        store.client("owner"), drill, content, name="photo.jpg", alt_text="On S3"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    key = f"store/products/{drill.pk}/{body['id']}.png"
    assert s3_storage.keys() == [key]
    head = s3_storage.head(key)
    assert head["ContentType"] == "image/png"
    assert head["ContentLength"] == len(content)
    assert stored_files(media) == []
    # The URL in the product points at the object, signed, and serves it.
    url = client_for(None).get(f"{PRODUCTS}{drill.pk}/").json()["images"][0]
    # Signed anew each time (the signature names the second), to the same object.
    assert url.split("?")[0] == body["url"].split("?")[0]
    assert url.startswith(f"{s3_storage.server.endpoint}/{s3_storage.name}/{key}?")
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=10) as served:  # loopback only
        assert served.read() == content
        assert served.headers["Content-Type"] == "image/png"

    with django_capture_on_commit_callbacks(execute=True):
        removed = store.client("owner").delete(images_url(drill, body["id"]))

    assert removed.status_code == 204
    assert s3_storage.keys() == []


def test_a_refused_upload_leaves_nothing_in_the_bucket(
    store: Store,
    s3_storage: S3Bucket,  # noqa: F811
    settings: Any,
) -> None:
    settings.STORE_IMAGES_PER_PRODUCT = 1
    drill = product(store)
    post_picture(store.client("owner"), drill, picture())

    refused = [
        post_picture(store.client("owner"), drill, picture()),
        post_picture(store.client("owner"), drill, picture("GIF")),
        post_picture(store.client("other"), drill, picture()),
    ]

    assert [answer.status_code for answer in refused] == [400, 400, 403]
    assert len(s3_storage.keys()) == 1
