"""Pictures of products: checked, stored and ordered.

An upload is judged by what Pillow finds in its bytes, never by its file name or the
content type the client declared: it must be a JPEG, PNG or WEBP (``STORE_IMAGE_TYPES``)
no larger than ``STORE_IMAGE_MAX_BYTES``, of at most ``STORE_IMAGE_MAX_PIXELS`` pixels
(checked from the header before anything is decoded, so a small file that unpacks to a
huge picture is refused cheaply), and it must decode whole. A product holds at most
``STORE_IMAGES_PER_PRODUCT`` images, at the dense positions 0, 1, 2, ...

Files go through the default storage (local media, or S3 when ``AWS_*`` is set) under a
name made from the product's and the image's ids and the detected format, so a client
chooses neither the path nor the extension, and S3 is told the detected content type.
The file is written before the transaction that records it and outside the product's
lock, as a storage call may be slow; when the row cannot be written the file is
deleted again. A removed image's file is deleted after the commit.

The services check the store's permissions with their ``acting_user`` (the product's
market owner or staff, or a super admin) and lock the product row, so concurrent
uploads cannot pass the per-product limit and positions stay dense.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from PIL import Image, UnidentifiedImageError

from apps.accounts.models import User
from apps.core.audit import audit_record
from apps.core.exceptions import ApplicationError, validation_error
from apps.core.models import AuditLogEntry
from apps.store import permissions, selectors
from apps.store.models import Product, ProductImage, product_image_path

Action = AuditLogEntry.Action
logger = logging.getLogger(__name__)

# Pillow's format name → (content type, file extension). Pillow reads a JPEG with a
# multi-picture index (as many cameras write them) as "MPO"; it is still a JPEG.
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
SAME_AS = {"MPO": "JPEG"}
# How each allowed format starts, to tell a damaged image from a file of another kind.
SIGNATURES = {"JPEG": (b"\xff\xd8\xff",), "PNG": (b"\x89PNG\r\n\x1a\n",)}
# A multipart body is the file plus its boundaries, headers and the other fields.
MULTIPART_ALLOWANCE = 64 * 1024
ALT_TEXT_MAX = 200
# EXIF orientations that turn the picture a quarter: its width and height swap.
EXIF_ORIENTATION = 0x0112
QUARTER_TURNS = frozenset({5, 6, 7, 8})
IMAGE_ORDER = selectors.IMAGE_ORDER


def max_bytes() -> int:
    return int(settings.STORE_IMAGE_MAX_BYTES)


def max_pixels() -> int:
    return int(settings.STORE_IMAGE_MAX_PIXELS)


def max_images() -> int:
    return int(settings.STORE_IMAGES_PER_PRODUCT)


def allowed_formats() -> tuple[str, ...]:
    """The allowed formats (Pillow's names) that this module knows how to store."""
    wanted = {str(name).strip().upper() for name in settings.STORE_IMAGE_TYPES}
    return tuple(name for name in FORMATS if name in wanted)


def allowed_content_types() -> list[str]:
    return [FORMATS[name][0] for name in allowed_formats()]


# --- errors ------------------------------------------------------------------------


def image_too_large() -> ApplicationError:
    limit, pixels = max_bytes(), max_pixels()
    return ApplicationError(
        "IMAGE_TOO_LARGE",
        f"The image is too large: at most {limit} bytes and {pixels} pixels.",
        details={"max_bytes": limit, "max_pixels": pixels},
    )


def image_type_refused() -> ApplicationError:
    allowed = allowed_content_types()
    return ApplicationError(
        "IMAGE_TYPE",
        f"The file is not an image of an allowed kind; upload one of: {', '.join(allowed)}.",
        details={"allowed": allowed},
    )


def image_unreadable(reason: str = "it is damaged or incomplete") -> ApplicationError:
    return ApplicationError("IMAGE_UNREADABLE", f"The image cannot be read: {reason}.")


def too_many_images() -> ApplicationError:
    limit = max_images()
    return ApplicationError(
        "TOO_MANY_IMAGES",
        f"A product has at most {limit} images; remove one first.",
        details={"max_images": limit},
    )


def image_error_text(error: ApplicationError) -> str:
    """The refusal of an upload in the reader's language, for the pages and the admin."""
    limit_mb = f"{max_bytes() / (1024 * 1024):g}"
    megapixels = f"{max_pixels() / 1_000_000:g}"
    formats = ", ".join(allowed_formats())
    if error.code == "IMAGE_TOO_LARGE":
        return gettext(
            "The image is too large: at most %(megabytes)s MB and %(megapixels)s megapixels."
        ) % {"megabytes": limit_mb, "megapixels": megapixels}
    if error.code == "IMAGE_TYPE":
        return gettext("This file is not an image of an allowed kind (%(formats)s).") % {
            "formats": formats
        }
    if error.code == "IMAGE_UNREADABLE":
        return gettext("The image cannot be read: it is damaged or incomplete.")
    if error.code == "TOO_MANY_IMAGES":
        return gettext("A product has at most %(count)s images; remove one first.") % {
            "count": max_images()
        }
    return error.message


def refuse_oversized_body(content_length: Any) -> None:
    """Refuse an upload by its declared length, before the body is read: a body far
    over the limit cannot hold an image under it."""
    try:
        declared = int(content_length or 0)
    except (TypeError, ValueError):
        return
    if declared > max_bytes() + MULTIPART_ALLOWANCE:
        raise image_too_large()


# --- the check ---------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedImage:
    """An upload that passed the checks: its bytes and what Pillow found in them."""

    content: bytes
    format: str
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return FORMATS[self.format][0]

    @property
    def extension(self) -> str:
        return FORMATS[self.format][1]


def _read(upload: Any) -> bytes:
    """The upload's bytes, never more than one past the limit."""
    limit = max_bytes()
    if isinstance(upload, bytes):
        content = upload
    else:
        declared = getattr(upload, "size", None)
        if isinstance(declared, int) and declared > limit:
            raise image_too_large()
        if hasattr(upload, "seek"):
            upload.seek(0)
        content = upload.read(limit + 1)
    if len(content) > limit:
        raise image_too_large()
    if not content:
        raise image_unreadable("the file is empty")
    return bytes(content)


def _looks_like(content: bytes) -> str | None:
    for name, starts in SIGNATURES.items():
        if content.startswith(starts):
            return name
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "WEBP"
    return None


def image_check(upload: Any) -> CheckedImage:
    """Check an upload (a file object or bytes) and return what it holds; raise
    IMAGE_TOO_LARGE, IMAGE_TYPE or IMAGE_UNREADABLE (400) otherwise."""
    content = _read(upload)
    allowed = allowed_formats()
    # Only the allowed formats' parsers ever see the bytes; any other kind of file is
    # "unidentified" to Pillow. (A multi-picture JPEG is opened by the JPEG parser.)
    readers = list(allowed)
    with warnings.catch_warnings():
        # Pillow warns past its own pixel limit; ours is checked below, and is lower.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(content), formats=readers) as probe:
                found = SAME_AS.get(str(probe.format), str(probe.format))
                width, height = probe.size
                if found not in allowed:
                    raise image_type_refused()
                # From the header alone: nothing is decoded yet.
                if width * height > max_pixels():
                    raise image_too_large()
                probe.verify()
            # verify() leaves the image unusable, and checks little of a JPEG: decoding
            # it whole is what finds a truncated or corrupt picture.
            with Image.open(io.BytesIO(content), formats=readers) as image:
                image.load()
                orientation = image.getexif().get(EXIF_ORIENTATION)
        except ApplicationError:
            raise
        except Image.DecompressionBombError:
            raise image_too_large() from None
        except UnidentifiedImageError:
            looks_like = _looks_like(content)
            if looks_like is not None and looks_like in allowed:
                raise image_unreadable() from None
            raise image_type_refused() from None
        except Exception:
            # A hostile file can make a decoder fail in many ways (OSError,
            # SyntaxError, ValueError, struct errors...): all mean it cannot be read.
            raise image_unreadable() from None
    if orientation in QUARTER_TURNS:
        width, height = height, width
    return CheckedImage(content=content, format=found, width=width, height=height)


# --- services ----------------------------------------------------------------------


def _clean_alt_text(alt_text: Any) -> str:
    text = "" if alt_text is None else str(alt_text).strip()
    if len(text) > ALT_TEXT_MAX:
        raise validation_error(
            "alt_text", f"Ensure this field has no more than {ALT_TEXT_MAX} characters."
        )
    if "\x00" in text:
        raise validation_error("alt_text", "Text may not contain the NUL character.")
    return text


def _lock_product(product: Product) -> Product:
    locked = (
        Product.objects.select_for_update(of=("self",))
        .select_related("market")
        .filter(pk=product.pk)
        .first()
    )
    if locked is None:
        raise ApplicationError("NOT_FOUND", "The product is gone.", status_code=404)
    return locked


def _images_of(product: Product) -> list[ProductImage]:
    return list(ProductImage.objects.filter(product=product).order_by(*IMAGE_ORDER))


def _renumber(images: list[ProductImage]) -> None:
    """Positions 0, 1, 2, ... in the list's order; only the rows that move are written."""
    moved = []
    for index, image in enumerate(images):
        if image.position != index:
            image.position = index
            moved.append(image)
    if moved:
        ProductImage.objects.bulk_update(moved, ["position"])


def _touch(product: Product) -> None:
    # The product's JSON holds its image URLs, so its version (ETag) moves with them.
    Product.objects.filter(pk=product.pk).update(updated_at=timezone.now())


def _space_of(product: Product) -> Any:
    market = product.market
    return market.makerspace_id if market is not None else None


def _delete_file_after_commit(name: str) -> None:
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


def product_image_add(
    *, product: Product, upload: Any, alt_text: str = "", acting_user: User
) -> ProductImage:
    """Add a picture at the end of the product's gallery (its market's owner or staff,
    or a super admin). ``upload`` is a file object, bytes, or the ``CheckedImage`` a
    form already made of it."""
    permissions.require_manage_products(acting_user, product.market_id)
    alt_text = _clean_alt_text(alt_text)
    checked = upload if isinstance(upload, CheckedImage) else image_check(upload)
    # Answered before the upload is stored; the count under the lock is the last word.
    if ProductImage.objects.filter(product=product).count() >= max_images():
        raise too_many_images()
    image = ProductImage(
        product=product, alt_text=alt_text, width=checked.width, height=checked.height
    )
    content = ContentFile(checked.content)
    # S3 takes the object's content type from here rather than from the client.
    content.content_type = checked.content_type  # type: ignore[attr-defined]
    stored = default_storage.save(product_image_path(image, f"upload.{checked.extension}"), content)
    try:
        with transaction.atomic():
            locked = _lock_product(product)
            images = _images_of(locked)
            if len(images) >= max_images():
                raise too_many_images()
            image.product = locked
            image.position = len(images)
            image.image.name = stored
            image.save()
            _touch(locked)
            audit_record(
                actor=acting_user,
                instance=image,
                action=Action.CREATE,
                makerspace_id=_space_of(locked),
                changes={
                    "product": str(locked.pk),
                    "file": stored,
                    "format": checked.format,
                    "bytes": len(checked.content),
                },
            )
    except BaseException:
        try:
            default_storage.delete(stored)
        except Exception:
            # The refusal is what the caller must hear; the stray file is only logged.
            logger.exception("Could not delete the refused product image %s", stored)
        raise
    return image


def product_image_remove(*, image: ProductImage, acting_user: User) -> None:
    """Remove a picture; the ones after it move up. Its file goes after the commit."""
    permissions.require_manage_products(acting_user, image.product.market_id)
    with transaction.atomic():
        locked = _lock_product(image.product)
        images = _images_of(locked)
        current = next((row for row in images if row.pk == image.pk), None)
        if current is None:
            return  # removed meanwhile: the outcome asked for already holds
        images.remove(current)
        name = current.image.name
        audit_record(
            actor=acting_user,
            instance=current,
            action=Action.DELETE,
            makerspace_id=_space_of(locked),
            changes={"product": str(locked.pk), "file": name},
        )
        current.delete()
        _renumber(images)
        _touch(locked)
        _delete_file_after_commit(name)


def product_image_update(
    *,
    image: ProductImage,
    acting_user: User,
    alt_text: str | None = None,
    position: int | None = None,
) -> ProductImage:
    """Change a picture's alternative text, or move it to ``position`` (0 is first; a
    position past the end means last); the others shift to keep their order."""
    permissions.require_manage_products(acting_user, image.product.market_id)
    if alt_text is not None:
        alt_text = _clean_alt_text(alt_text)
    if position is not None and (isinstance(position, bool) or position < 0):
        raise validation_error("position", "Give a position of 0 or more.")
    with transaction.atomic():
        locked = _lock_product(image.product)
        images = _images_of(locked)
        current = next((row for row in images if row.pk == image.pk), None)
        if current is None:
            raise ApplicationError("NOT_FOUND", "The image is gone.", status_code=404)
        changes: dict[str, Any] = {}
        if alt_text is not None and alt_text != current.alt_text:
            changes["alt_text"] = [current.alt_text, alt_text]
            current.alt_text = alt_text
            current.save(update_fields=["alt_text", "updated_at"])
        if position is not None:
            target = min(position, len(images) - 1)
            if target != images.index(current):
                changes["position"] = [images.index(current), target]
                images.remove(current)
                images.insert(target, current)
            _renumber(images)
        if changes:
            _touch(locked)
            audit_record(
                actor=acting_user,
                instance=current,
                action=Action.UPDATE,
                makerspace_id=_space_of(locked),
                changes=changes,
            )
    return current


def product_image_move(*, image: ProductImage, position: int, acting_user: User) -> ProductImage:
    """Move a picture to ``position`` in its product's gallery (0 is first)."""
    return product_image_update(image=image, position=position, acting_user=acting_user)


def image_url(name: str) -> str:
    """Where a stored image is served from (local media, or the bucket)."""
    return str(default_storage.url(name))
