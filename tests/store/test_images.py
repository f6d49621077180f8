"""Product pictures: the content check (kind, size, pixels, damage), the services that
add, order and remove them, the pages that show and manage them, the admin inline,
and the demo pictures."""

import io
import struct
import zlib
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from apps.accounts.models import User
from apps.core.exceptions import ApplicationError
from apps.core.models import AuditLogEntry
from apps.store import demo_images, images, services
from apps.store.models import Product, ProductImage
from tests.admin_support import change_url, form_data, logged_in, messages_of
from tests.store.conftest import Store

pytestmark = pytest.mark.django_db


# --- helpers -------------------------------------------------------------------------------


def picture(
    kind: str = "PNG", size: tuple[int, int] = (8, 6), color: str = "teal", **options: Any
) -> bytes:
    """A small real image of ``kind`` (a Pillow format name)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=kind, **options)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels: a decompression bomb as
    far as anything that trusts the header is concerned."""
    content = bytearray(picture("PNG"))
    # The IHDR chunk comes first after the 8-byte signature: length, type, data, CRC.
    data_start = 8 + 8
    content[data_start : data_start + 8] = struct.pack(">II", width, height)
    ihdr = bytes(content[12 : data_start + 13])
    content[data_start + 13 : data_start + 17] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(content)


def upload(
    content: bytes, name: str = "photo.png", content_type: str = "image/png"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def refusal(content: bytes) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        images.image_check(upload(content))
    return caught.value


def stored_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)
    return root


def product(store: Store, name: str = "Hand drill", market: Any = "own") -> Product:
    market = store.market if market == "own" else market
    actor = store.owner if market is not None else store.admin
    return services.product_create(
        acting_user=actor,
        market=market,
        category=store.tools,
        name=name,
        sku=name.upper().replace(" ", "-"),
        price=Decimal("10.00"),
        opening_stock=3,
    )


def add(store: Store, item: Product, color: str = "teal", **options: Any) -> ProductImage:
    return images.product_image_add(
        product=item,
        upload=upload(picture(color=color)),
        acting_user=options.pop("acting_user", store.owner),
        **options,
    )


def gallery(item: Product) -> list[str]:
    return list(
        ProductImage.objects.filter(product=item)
        .order_by(*images.IMAGE_ORDER)
        .values_list("alt_text", flat=True)
    )


# --- the check -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_each_allowed_kind_passes_with_its_size(kind: str, content_type: str) -> None:
    checked = images.image_check(upload(picture(kind, size=(30, 20))))

    assert (checked.format, checked.width, checked.height) == (kind, 30, 20)
    assert checked.content_type == content_type


def test_the_kind_is_read_from_the_content_not_the_name_or_declared_type() -> None:
    checked = images.image_check(upload(picture("PNG"), "photo.jpg", "image/jpeg"))

    assert (checked.format, checked.extension) == ("PNG", "png")


def test_a_cameras_multi_picture_jpeg_is_a_jpeg() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), "red").save(
        buffer, format="MPO", save_all=True, append_images=[Image.new("RGB", (8, 6))]
    )

    checked = images.image_check(upload(buffer.getvalue()))

    assert (checked.format, checked.content_type, checked.extension) == (
        "JPEG",
        "image/jpeg",
        "jpg",
    )


def test_a_jpeg_turned_by_its_exif_reports_its_upright_size() -> None:
    exif = Image.Exif()
    exif[images.EXIF_ORIENTATION] = 6  # turned a quarter clockwise
    checked = images.image_check(upload(picture("JPEG", size=(40, 10), exif=exif.tobytes())))

    assert (checked.width, checked.height) == (10, 40)


@pytest.mark.parametrize(
    ("label", "content"),
    [
        ("gif", picture("GIF")),
        ("bmp", picture("BMP")),
        ("text", b"hello, this is not a picture at all"),
        ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("pdf", b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF"),
    ],
)
def test_other_kinds_are_refused_naming_the_allowed_ones(label: str, content: bytes) -> None:
    error = refusal(content)

    assert error.code == "IMAGE_TYPE"
    assert error.status_code == 400
    assert error.details == {"allowed": ["image/jpeg", "image/png", "image/webp"]}


def test_the_allowed_kinds_follow_the_settings(settings: Any) -> None:
    settings.STORE_IMAGE_TYPES = ["png"]

    error = refusal(picture("JPEG"))

    assert error.code == "IMAGE_TYPE"
    assert error.details == {"allowed": ["image/png"]}
    assert images.image_check(upload(picture("PNG"))).format == "PNG"


def _corrupt_png() -> bytes:
    content = bytearray(picture("PNG", size=(32, 32)))
    index = content.index(b"IDAT") + 8
    content[index] ^= 0xFF  # the image data no longer matches its checksum
    return bytes(content)


@pytest.mark.parametrize(
    ("label", "content"),
    [
        ("empty", b""),
        ("png cut in half", picture("PNG", size=(64, 64))[:60]),
        ("jpeg cut short", picture("JPEG", size=(64, 64))[:-200]),
        ("png with a bad checksum", _corrupt_png()),
        ("png signature then garbage", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        ("webp header then garbage", b"RIFF\x20\x00\x00\x00WEBPVP8 " + b"\x00" * 24),
    ],
)
def test_damaged_images_are_unreadable(label: str, content: bytes) -> None:
    error = refusal(content)

    assert error.code == "IMAGE_UNREADABLE", error.message
    assert error.status_code == 400


def test_more_bytes_than_allowed_is_too_large(settings: Any) -> None:
    content = picture(size=(64, 64))
    settings.STORE_IMAGE_MAX_BYTES = len(content) - 1

    error = refusal(content)

    assert error.code == "IMAGE_TOO_LARGE"
    assert error.details["max_bytes"] == len(content) - 1
    settings.STORE_IMAGE_MAX_BYTES = len(content)
    assert images.image_check(upload(content)).width == 64


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (50_000, 1_000),  # past ours (40 MP), short of Pillow's own warning
        (20_000, 10_000),  # past the point where Pillow itself refuses to open it
        (65_535, 65_535),
    ],
)
def test_a_picture_claiming_too_many_pixels_is_refused_from_its_header(
    width: int, height: int
) -> None:
    error = refusal(png_claiming(width, height))

    assert error.code == "IMAGE_TOO_LARGE"
    assert error.details == {"max_bytes": 5 * 1024 * 1024, "max_pixels": 40_000_000}


def test_the_pixel_limit_follows_the_settings(settings: Any) -> None:
    settings.STORE_IMAGE_MAX_PIXELS = 100

    assert refusal(picture(size=(11, 10))).code == "IMAGE_TOO_LARGE"
    assert images.image_check(upload(picture(size=(10, 10)))).width == 10


# --- services ------------------------------------------------------------------------------


def test_pictures_go_last_and_are_stored_under_the_product_by_their_kind(
    store: Store, media: Path
) -> None:
    drill = product(store)
    version = drill.updated_at

    first = add(store, drill, alt_text="  Front  ")
    second = images.product_image_add(
        product=drill,
        upload=upload(picture("JPEG", size=(12, 9)), "evil/../../name.png", "text/html"),
        acting_user=store.staff,
    )

    assert [(first.position, first.alt_text), (second.position, second.alt_text)] == [
        (0, "Front"),
        (1, ""),
    ]
    assert (second.width, second.height) == (12, 9)
    assert stored_files(media) == sorted(
        [
            f"store/products/{drill.pk}/{first.pk}.png",
            f"store/products/{drill.pk}/{second.pk}.jpg",
        ]
    )
    assert (media / second.image.name).read_bytes()[:3] == b"\xff\xd8\xff"
    entry = AuditLogEntry.objects.get(object_id=str(second.pk))
    assert (entry.action, entry.actor_id, entry.changes["format"]) == (
        "create",
        store.staff.pk,
        "JPEG",
    )
    drill.refresh_from_db()
    assert drill.updated_at > version


def test_a_product_holds_at_most_the_limit(store: Store, settings: Any, media: Path) -> None:
    settings.STORE_IMAGES_PER_PRODUCT = 2
    drill = product(store)
    add(store, drill)
    add(store, drill)
    before = stored_files(media)

    with pytest.raises(ApplicationError) as caught:
        add(store, drill)

    assert (caught.value.code, caught.value.details) == ("TOO_MANY_IMAGES", {"max_images": 2})
    assert ProductImage.objects.filter(product=drill).count() == 2
    assert stored_files(media) == before


def test_removing_closes_the_gap_and_deletes_the_file_after_commit(
    store: Store, media: Path, django_capture_on_commit_callbacks: Any
) -> None:
    drill = product(store)
    pictures = [add(store, drill, alt_text=name) for name in ("a", "b", "c")]

    with django_capture_on_commit_callbacks(execute=True):
        images.product_image_remove(image=pictures[0], acting_user=store.owner)

    assert list(
        ProductImage.objects.filter(product=drill)
        .order_by("position")
        .values_list("alt_text", "position")
    ) == [("b", 0), ("c", 1)]
    assert not (media / pictures[0].image.name).exists()
    assert (media / pictures[1].image.name).exists()
    assert AuditLogEntry.objects.filter(object_id=str(pictures[0].pk), action="delete").exists()
    # Removing it again finds nothing to do.
    images.product_image_remove(image=pictures[0], acting_user=store.owner)


def test_a_removal_rolled_back_keeps_the_file(store: Store, media: Path) -> None:
    drill = product(store)
    kept = add(store, drill)

    # The test's transaction never commits, so the file must still be there.
    images.product_image_remove(image=kept, acting_user=store.owner)

    assert (media / kept.image.name).exists()


def test_moving_a_picture_shifts_the_others(store: Store) -> None:
    drill = product(store)
    a, _b, c = (add(store, drill, alt_text=name) for name in ("a", "b", "c"))

    images.product_image_move(image=c, position=0, acting_user=store.owner)
    assert gallery(drill) == ["c", "a", "b"]

    images.product_image_move(image=c, position=99, acting_user=store.staff)
    assert gallery(drill) == ["a", "b", "c"]

    images.product_image_update(image=a, alt_text="front", position=1, acting_user=store.owner)
    assert gallery(drill) == ["b", "front", "c"]
    assert list(
        ProductImage.objects.filter(product=drill)
        .order_by("position")
        .values_list("position", flat=True)
    ) == [0, 1, 2]

    with pytest.raises(ApplicationError) as caught:
        images.product_image_move(image=a, position=-1, acting_user=store.owner)
    assert caught.value.code == "VALIDATION_ERROR"
    assert "position" in caught.value.details


def test_a_long_description_is_refused(store: Store, media: Path) -> None:
    drill = product(store)

    with pytest.raises(ApplicationError) as caught:
        add(store, drill, alt_text="x" * 201)

    assert caught.value.code == "VALIDATION_ERROR"
    assert "alt_text" in caught.value.details
    assert stored_files(media) == []


@pytest.mark.parametrize(
    ("who", "central", "allowed"),
    [
        ("owner", False, True),
        ("staff", False, True),
        ("admin", False, True),
        ("other", False, False),
        ("owner", True, False),
        ("admin", True, True),
    ],
)
def test_only_those_who_manage_the_product_change_its_pictures(
    store: Store, media: Path, who: str, central: bool, allowed: bool
) -> None:
    item = product(store, market=None if central else "own")
    existing = add(store, item, acting_user=store.admin)
    files = stored_files(media)
    actor: User = getattr(store, who)

    def attempts() -> None:
        add(store, item, acting_user=actor)
        images.product_image_move(image=existing, position=1, acting_user=actor)
        images.product_image_remove(image=existing, acting_user=actor)

    if allowed:
        attempts()
        assert ProductImage.objects.filter(product=item).count() == 1
        return
    with pytest.raises(ApplicationError) as caught:
        attempts()
    assert caught.value.code == "PERMISSION_DENIED"
    assert caught.value.status_code == 403
    assert list(ProductImage.objects.filter(product=item)) == [existing]
    assert stored_files(media) == files


# --- pages ---------------------------------------------------------------------------------


def edit_url(item: Product, name: str = "product-edit", **kwargs: Any) -> str:
    assert item.market is not None
    return reverse(
        f"store:{name}",
        kwargs={"market_slug": item.market.slug, "product_slug": item.slug, **kwargs},
    )


def test_an_owner_adds_a_picture_on_the_product_page_and_everyone_sees_it(
    store: Store,
) -> None:
    drill = product(store)
    client = logged_in(store.owner)

    response = client.post(
        edit_url(drill, "product-image-add"),
        {"image": upload(picture("WEBP"), "front.webp", "image/webp"), "alt_text": "Front"},
    )
    add(store, drill, alt_text="Side")

    assert response.status_code == 302
    assert response["Location"] == edit_url(drill)
    assert "The picture is added." in messages_of(response)
    front, side = ProductImage.objects.filter(product=drill).order_by("position")
    assert (front.alt_text, front.image.name.endswith(".webp")) == ("Front", True)
    edit_page = client.get(edit_url(drill)).content.decode()
    product_page = Client().get(reverse("store:product", kwargs={"slug": drill.slug}))
    catalogue = Client().get(reverse("store:catalogue")).content.decode()
    html = product_page.content.decode()
    assert f'src="{front.image.url}"' in edit_page
    assert 'enctype="multipart/form-data"' in edit_page
    assert html.index(f'src="{front.image.url}"') < html.index(f'src="{side.image.url}"')
    assert 'alt="Front"' in html
    assert [row["alt_text"] for row in product_page.context["gallery"]] == ["Front", "Side"]
    assert f'src="{front.image.url}"' in catalogue
    assert f'src="{side.image.url}"' not in catalogue


def test_a_bad_file_on_the_page_answers_400_with_the_reason(store: Store, media: Path) -> None:
    drill = product(store)

    response = logged_in(store.staff).post(
        edit_url(drill, "product-image-add"),
        {"image": upload(picture("GIF"), "cat.png"), "alt_text": "Cat"},
    )

    assert response.status_code == 400
    assert response.context["image_form"].errors["image"] == [
        "This file is not an image of an allowed kind (JPEG, PNG, WEBP)."
    ]
    assert not ProductImage.objects.exists()
    assert stored_files(media) == []


def test_a_full_gallery_hides_the_upload_form_and_refuses_one_more(
    store: Store, settings: Any
) -> None:
    settings.STORE_IMAGES_PER_PRODUCT = 1
    drill = product(store)
    add(store, drill)
    client = logged_in(store.owner)

    page = client.get(edit_url(drill)).content.decode()
    response = client.post(edit_url(drill, "product-image-add"), {"image": upload(picture())})

    assert 'enctype="multipart/form-data"' not in page
    assert "A product has at most 1 picture." in page
    assert response.status_code == 400
    assert response.context["image_form"].errors["image"] == [
        "A product has at most 1 images; remove one first."
    ]
    assert ProductImage.objects.filter(product=drill).count() == 1


def test_an_owner_moves_and_removes_pictures_with_the_page_buttons(
    store: Store, django_capture_on_commit_callbacks: Any, media: Path
) -> None:
    drill = product(store)
    a, b = (add(store, drill, alt_text=name) for name in ("a", "b"))
    client = logged_in(store.owner)

    moved = client.post(edit_url(drill, "product-image-move", image_id=b.pk), {"position": "0"})
    bad = client.post(edit_url(drill, "product-image-move", image_id=b.pk), {"position": "-3"})
    with django_capture_on_commit_callbacks(execute=True):
        removed = client.post(edit_url(drill, "product-image-remove", image_id=a.pk))

    assert (moved.status_code, bad.status_code, removed.status_code) == (302, 400, 302)
    assert gallery(drill) == ["b"]
    assert not (media / a.image.name).exists()


def test_others_cannot_manage_pictures_on_the_pages(store: Store) -> None:
    drill = product(store)
    existing = add(store, drill)
    other = logged_in(store.other)
    urls = [
        edit_url(drill, "product-image-add"),
        edit_url(drill, "product-image-move", image_id=existing.pk),
        edit_url(drill, "product-image-remove", image_id=existing.pk),
    ]

    answers = [other.post(url, {"image": upload(picture()), "position": "0"}) for url in urls]
    anonymous = [Client().post(url).status_code for url in urls]
    elsewhere = logged_in(store.owner).post(
        edit_url(product(store, "Saw"), "product-image-remove", image_id=existing.pk)
    )

    assert [answer.status_code for answer in answers] == [403, 403, 403]
    assert anonymous == [302, 302, 302]
    assert elsewhere.status_code == 404
    assert list(ProductImage.objects.all()) == [existing]


def test_the_catalogue_costs_the_same_queries_with_pictures(store: Store) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert Client().get(reverse("store:catalogue")).status_code == 200
        return len(captured)

    first = product(store, "Bolt")
    add(store, first)
    few = queries()
    for number in range(6):
        item = product(store, f"Nut {number}")
        add(store, item)
        add(store, item)

    assert queries() == few


# --- admin ---------------------------------------------------------------------------------


def _admin_post(client: Client, item: Product, **changes: Any) -> Any:
    page = client.get(change_url(item))
    data = form_data(page)
    data.update(changes)
    return client.post(change_url(item), data)


def test_the_admin_inline_adds_a_checked_picture_and_refuses_a_bad_one(
    store: Store, media: Path
) -> None:
    drill = product(store)
    client = logged_in(store.owner)

    refused = _admin_post(client, drill, **{"images-0-image": upload(picture("GIF"), "cat.png")})
    added = _admin_post(
        client,
        drill,
        **{"images-0-image": upload(picture("PNG")), "images-0-alt_text": "From the admin"},
    )

    assert refused.status_code == 200
    assert "This file is not an image of an allowed kind" in refused.content.decode()
    assert added.status_code == 302
    image = ProductImage.objects.get(product=drill)
    assert (image.alt_text, image.position, image.width) == ("From the admin", 0, 8)
    assert stored_files(media) == [image.image.name]


def test_the_admin_inline_reorders_describes_and_removes(
    store: Store, django_capture_on_commit_callbacks: Any, media: Path
) -> None:
    drill = product(store)
    _a, _b, c = (add(store, drill, alt_text=name) for name in ("a", "b", "c"))
    client = logged_in(store.staff)

    moved = _admin_post(client, drill, **{"images-2-position": "0", "images-1-alt_text": "B"})
    assert moved.status_code == 302
    assert gallery(drill) == ["c", "a", "B"]

    with django_capture_on_commit_callbacks(execute=True):
        removed = _admin_post(client, drill, **{"images-0-DELETE": "on"})

    assert removed.status_code == 302
    assert gallery(drill) == ["a", "B"]
    assert not (media / c.image.name).exists()


def test_the_admin_inline_keeps_the_limit(store: Store, settings: Any) -> None:
    settings.STORE_IMAGES_PER_PRODUCT = 1
    drill = product(store)
    add(store, drill)
    page = logged_in(store.owner).get(change_url(drill))
    data = form_data(page)
    data.update(
        {
            "images-TOTAL_FORMS": "2",
            "images-1-image": upload(picture()),
            "images-1-product": str(drill.pk),
        }
    )

    response = logged_in(store.owner).post(change_url(drill), data)

    assert response.status_code == 200
    assert ProductImage.objects.filter(product=drill).count() == 1


def test_the_admin_inline_is_not_offered_for_another_market(store: Store) -> None:
    theirs = product(store, "Saw", market=None)

    assert logged_in(store.owner).get(change_url(theirs)).status_code in (302, 403, 404)


# --- demo ----------------------------------------------------------------------------------


def test_demo_pictures_are_drawn_once(store: Store, media: Path) -> None:
    item = services.product_create(
        acting_user=store.admin,
        market=None,
        category=store.tools,
        name="ESP32 DevKit v1",
        sku="MX-ESP32-DEVKIT",
        price=Decimal("9.90"),
    )
    output = StringIO()

    first = demo_images.load_images(stdout=output)
    again = demo_images.load_images()

    assert (first, again) == (1, 0)
    image = ProductImage.objects.get(product=item)
    assert (image.width, image.height, image.alt_text) == (640, 480, "ESP32 DevKit")
    assert (media / image.image.name).read_bytes().startswith(b"\x89PNG")
    assert "1 product pictures drawn" in output.getvalue()
