"""Reading and measuring 3D model files for fabrication quotes.

A model arrives as an STL (binary or ASCII) or a 3MF (a zip of XML). Its type is
decided from its bytes as well as its name, since a client may name anything
``.stl``. A 3MF's declared uncompressed size is checked before anything is
unpacked, so a small zip cannot grow into gigabytes in memory (Python's zip reader
never inflates a member past the size its header declares).

Sizes are millimetres: STL carries no unit and printers read it as millimetres; a
3MF names its unit, which is converted.
"""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings

from apps.core.exceptions import ApplicationError

MODEL_TYPES = ("stl", "3mf")
VOLUME_PLACES = Decimal("0.001")
SIZE_PLACES = Decimal("0.01")
MM3_PER_CM3 = Decimal(1000)
BINARY_STL_HEADER = 84
BINARY_STL_TRIANGLE = 50
# A 3MF holds a handful of parts (the model, relationships, content types, maybe a
# thumbnail); thousands of entries are a way to make the reader work, not a model.
MAX_ZIP_ENTRIES = 256
# How much a 3MF may unpack to, as a multiple of the upload limit: its XML compresses
# well, but past this the parser's memory is the problem.
UNCOMPRESSED_FACTOR = 4
# Volumes and sizes stored on a job have these many digits before the point.
MAX_VOLUME_CM3 = Decimal("999999999")
MAX_SIZE_MM = Decimal("9999999")
# Magic numbers of files people upload by mistake, refused as "not a model".
OTHER_FORMATS = (
    b"PK\x03\x04",
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"\x1f\x8b",
    b"Rar!",
    b"7z\xbc\xaf",
)


@dataclass(frozen=True)
class ModelMeasure:
    """What a quote needs from a model: its printed volume and its bounding box."""

    file_type: str
    triangles: int
    volume_cm3: Decimal
    size_x_mm: Decimal
    size_y_mm: Decimal
    size_z_mm: Decimal

    @property
    def size_mm(self) -> tuple[Decimal, Decimal, Decimal]:
        return (self.size_x_mm, self.size_y_mm, self.size_z_mm)


def max_upload_bytes() -> int:
    return int(getattr(settings, "FABRICATION_MAX_UPLOAD_MB", 50)) * 1024 * 1024


def _refusal(code: str, message: str, **details: Any) -> ApplicationError:
    return ApplicationError(code, message, details={"file": [message], **details})


def too_large(limit: int) -> ApplicationError:
    megabytes = limit // (1024 * 1024)
    return _refusal(
        "MODEL_TOO_LARGE",
        f"The model file is larger than {megabytes} MB.",
        limit_bytes=limit,
    )


def read_upload(upload: Any, *, limit: int | None = None) -> bytes:
    """The bytes of an uploaded file, read no further than the limit allows."""
    limit = max_upload_bytes() if limit is None else limit
    if getattr(upload, "size", None) is not None and upload.size > limit:
        raise too_large(limit)
    upload.seek(0)
    data: bytes = upload.read(limit + 1)
    if len(data) > limit:
        raise too_large(limit)
    return data


def file_type_of(filename: str) -> str:
    """The model type a file's name claims (``stl`` or ``3mf``), else 400 MODEL_TYPE."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in MODEL_TYPES:
        raise _refusal(
            "MODEL_TYPE",
            "Upload an STL or 3MF file (.stl or .3mf).",
            allowed=list(MODEL_TYPES),
        )
    return extension


def _is_binary_stl(data: bytes) -> bool:
    if len(data) < BINARY_STL_HEADER:
        return False
    (count,) = struct.unpack_from("<I", data, 80)
    return len(data) == BINARY_STL_HEADER + BINARY_STL_TRIANGLE * count


def _is_ascii_stl(data: bytes) -> bool:
    head = data[:512].lstrip()
    if head[:5].lower() != b"solid":
        return False
    try:
        head.decode("ascii")
    except UnicodeDecodeError:
        return False
    return True


def _check_stl(data: bytes) -> None:
    if data.startswith(OTHER_FORMATS):
        raise _refusal("MODEL_TYPE", "This file is not an STL model, whatever its name says.")
    if not (_is_binary_stl(data) or _is_ascii_stl(data)):
        raise _refusal(
            "MODEL_UNREADABLE",
            "This STL file cannot be read: it is neither a complete binary STL nor ASCII STL text.",
        )


def _check_3mf(data: bytes) -> None:
    """A zip whose parts unpack to a bounded size and hold a 3D model part."""
    if not data.startswith(b"PK\x03\x04"):
        raise _refusal("MODEL_TYPE", "This file is not a 3MF model, whatever its name says.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _refusal(
            "MODEL_UNREADABLE", "This 3MF file is damaged: its zip cannot be read."
        ) from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _refusal("MODEL_UNREADABLE", "This 3MF file holds too many parts to be a model.")
    limit = max_upload_bytes() * UNCOMPRESSED_FACTOR
    if sum(entry.file_size for entry in entries) > limit:
        raise _refusal(
            "MODEL_TOO_LARGE",
            f"This 3MF file unpacks to more than {limit // (1024 * 1024)} MB.",
            limit_bytes=limit,
        )
    if not any(entry.filename.lower().endswith(".model") for entry in entries):
        raise _refusal("MODEL_UNREADABLE", "This 3MF file holds no 3D model part.")


def _load(data: bytes, file_type: str) -> Any:
    import trimesh

    try:
        loaded = trimesh.load(io.BytesIO(data), file_type=file_type, force="mesh")
    except Exception:
        # The parsers raise whatever their input provokes (zip, XML, struct, numpy
        # errors); to the uploader each of them means the same thing.
        raise _refusal(
            "MODEL_UNREADABLE", f"This {file_type.upper()} file cannot be read as a 3D model."
        ) from None
    if not isinstance(loaded, trimesh.Trimesh):
        raise _refusal("MODEL_EMPTY", "This file holds no 3D model.")
    units = str(loaded.units or "").lower()
    if units and not units.startswith("millimet"):
        try:
            loaded.apply_scale(trimesh.units.unit_conversion(units, "millimeters"))
        except Exception:
            raise _refusal(
                "MODEL_UNREADABLE", f"This model's unit {units!r} is not one MakrX knows."
            ) from None
    return loaded


def _decimal(value: float, places: Decimal) -> Decimal:
    return Decimal(repr(float(value))).quantize(places, rounding=ROUND_HALF_UP)


def measure_model(*, filename: str, data: bytes) -> ModelMeasure:
    """Read a model and measure it, refusing with a 400 what cannot be printed:

    MODEL_TYPE (not an STL or 3MF, by name or by content), MODEL_EMPTY (no
    triangles or no volume), MODEL_UNREADABLE (damaged), MODEL_NOT_WATERTIGHT (open
    surfaces: the slicer could not tell inside from outside), MODEL_TOO_LARGE.
    """
    import numpy

    file_type = file_type_of(filename)
    limit = max_upload_bytes()
    if len(data) > limit:
        raise too_large(limit)
    if not data.strip():
        raise _refusal("MODEL_EMPTY", "The model file is empty.")
    if file_type == "stl":
        _check_stl(data)
    else:
        _check_3mf(data)
    mesh = _load(data, file_type)
    triangles = len(mesh.faces)
    if triangles == 0:
        if file_type == "stl" and b"facet" in data[:4096].lower():
            # Text that names facets yet yields none is broken, not empty.
            raise _refusal("MODEL_UNREADABLE", "This STL file's facets cannot be read.")
        raise _refusal("MODEL_EMPTY", "This model has no triangles.")
    if not numpy.isfinite(mesh.vertices).all():
        raise _refusal("MODEL_UNREADABLE", "This model has coordinates that are not numbers.")
    if not mesh.is_watertight:
        raise _refusal(
            "MODEL_NOT_WATERTIGHT",
            "This model has holes or open edges, so it has no inside to print. Close "
            "the mesh (most slicers and modelling tools can repair it) and upload it again.",
        )
    volume_mm3 = abs(float(mesh.volume))
    volume_cm3 = (Decimal(repr(volume_mm3)) / MM3_PER_CM3).quantize(
        VOLUME_PLACES, rounding=ROUND_HALF_UP
    )
    if volume_cm3 <= 0:
        raise _refusal("MODEL_EMPTY", "This model encloses no volume.")
    size_x, size_y, size_z = (_decimal(extent, SIZE_PLACES) for extent in mesh.extents)
    if volume_cm3 > MAX_VOLUME_CM3 or max(size_x, size_y, size_z) > MAX_SIZE_MM:
        raise _refusal("MODEL_TOO_LARGE", "This model is far larger than any printer.")
    return ModelMeasure(
        file_type=file_type,
        triangles=triangles,
        volume_cm3=volume_cm3,
        size_x_mm=size_x,
        size_y_mm=size_y,
        size_z_mm=size_z,
    )


def fits_build_volume(
    size_mm: tuple[Decimal, Decimal, Decimal], build_mm: tuple[Decimal, Decimal, Decimal]
) -> bool:
    """Whether a bounding box fits a printer's build volume in some orientation.

    Only the box's six axis-aligned orientations are considered: the longest side
    against the longest build axis and so on, which is the best of the six.
    """
    return all(side <= axis for side, axis in zip(sorted(size_mm), sorted(build_mm), strict=True))
