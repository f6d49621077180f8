"""Reading and measuring model files: STL (binary and ASCII) and 3MF are measured in
millimetres and cm³; broken, empty, open, oversized and mistyped files are refused
with a clear code before anything is stored."""

from decimal import Decimal

import pytest

from apps.core.exceptions import ApplicationError
from apps.store.mesh import fits_build_volume, measure_model
from tests.store.fixtures import models3d

D = Decimal


def refusal(filename: str, data: bytes) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        measure_model(filename=filename, data=data)
    assert caught.value.status_code == 400
    assert caught.value.details["file"], "the refusal names the file field"
    return caught.value


@pytest.mark.parametrize(
    ("label", "filename", "data"),
    [
        ("binary STL", "cube.stl", models3d.binary_stl()),
        ("ASCII STL", "cube.STL", models3d.ascii_stl()),
        ("3MF", "cube.3mf", models3d.three_mf()),
    ],
)
def test_a_20_mm_cube_measures_8_cm3_in_every_format(label: str, filename: str, data: bytes):
    measure = measure_model(filename=filename, data=data)

    assert measure.volume_cm3 == D("8.000"), label
    assert measure.size_mm == (D("20.00"), D("20.00"), D("20.00"))
    assert measure.triangles == 12


def test_a_box_keeps_its_three_sides_and_a_binary_stl_starting_with_solid_is_binary():
    mesh = models3d.box(30, 12.5, 4)
    data = models3d.binary_stl(mesh)
    data = b"solid made by a slicer".ljust(80, b" ") + data[80:]

    measure = measure_model(filename="plate.stl", data=data)

    assert measure.file_type == "stl"
    assert measure.size_mm == (D("30.00"), D("12.50"), D("4.00"))
    assert measure.volume_cm3 == D("1.500")


def test_a_3mf_in_centimetres_is_measured_in_millimetres():
    measure = measure_model(filename="cube.3mf", data=models3d.three_mf(unit="centimeter"))

    assert measure.size_mm == (D("200.00"), D("200.00"), D("200.00"))
    assert measure.volume_cm3 == D("8000.000")


@pytest.mark.parametrize(
    ("label", "filename", "data", "code"),
    [
        ("an empty file", "empty.stl", b"", "MODEL_EMPTY"),
        ("only whitespace", "blank.stl", b"   \n\n", "MODEL_EMPTY"),
        ("a binary STL of no triangles", "none.stl", models3d.no_triangles_stl(), "MODEL_EMPTY"),
        ("an ASCII STL of no facets", "none.stl", b"solid x\nendsolid x\n", "MODEL_EMPTY"),
        ("random bytes", "noise.stl", models3d.garbage(), "MODEL_UNREADABLE"),
        ("a cut-off binary STL", "cut.stl", models3d.truncated_stl(), "MODEL_UNREADABLE"),
        (
            "ASCII facets that are not numbers",
            "bad.stl",
            b"solid x\nfacet normal a b c\nouter loop\nvertex 1 2\nendloop\nendfacet\nendsolid x",
            "MODEL_UNREADABLE",
        ),
        ("a damaged zip", "broken.3mf", b"PK\x03\x04" + models3d.garbage(), "MODEL_UNREADABLE"),
        ("a zip without a model", "notes.3mf", models3d.zip_without_model(), "MODEL_UNREADABLE"),
        ("an open box", "open.stl", models3d.open_box_stl(), "MODEL_NOT_WATERTIGHT"),
        ("a PNG named .stl", "photo.stl", models3d.png(), "MODEL_TYPE"),
        ("a 3MF named .stl", "cube.stl", models3d.three_mf(), "MODEL_TYPE"),
        ("an STL named .3mf", "cube.3mf", models3d.binary_stl(), "MODEL_TYPE"),
        ("another extension", "cube.obj", models3d.binary_stl(), "MODEL_TYPE"),
        ("no extension", "cube", models3d.binary_stl(), "MODEL_TYPE"),
    ],
)
def test_models_that_cannot_be_printed_are_refused_with_their_code(
    label: str, filename: str, data: bytes, code: str
):
    assert refusal(filename, data).code == code, label


def test_a_file_over_the_upload_limit_is_too_large(settings):
    settings.FABRICATION_MAX_UPLOAD_MB = 1
    big = models3d.binary_stl(models3d.cube())
    padded = big[:80] + b"\0" * (1024 * 1024)

    error = refusal("big.stl", padded)

    assert error.code == "MODEL_TOO_LARGE"
    assert error.details["limit_bytes"] == 1024 * 1024


def test_a_3mf_that_would_unpack_past_the_limit_is_refused_before_it_is_unpacked(settings):
    settings.FABRICATION_MAX_UPLOAD_MB = 1
    bomb = models3d.zip_bomb(8 * 1024 * 1024)
    assert len(bomb) < 64 * 1024, "small on the wire"

    error = refusal("bomb.3mf", bomb)

    assert error.code == "MODEL_TOO_LARGE"
    assert "unpacks" in error.message


@pytest.mark.parametrize(
    ("size", "build", "fits"),
    [
        ((D(20), D(20), D(20)), (D(250), D(210), D(220)), True),
        # Lying down, the 240 mm side fits along the 250 mm axis.
        ((D(100), D(100), D(240)), (D(250), D(210), D(220)), True),
        ((D(250), D(210), D(220)), (D(250), D(210), D(220)), True),
        ((D(251), D(10), D(10)), (D(250), D(210), D(220)), False),
        ((D(215), D(215), D(10)), (D(250), D(210), D(220)), True),
        ((D(215), D(215), D(215)), (D(250), D(210), D(220)), False),
    ],
)
def test_a_box_fits_a_printer_in_its_best_orientation(size, build, fits):
    assert fits_build_volume(size, build) is fits
