"""Plate numbers: normalising, and the golden formats of every plate type."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from trafficgov.errors import FieldError
from trafficgov.registry.codetables import code_tables
from trafficgov.registry.plates import normalise_plate, validate_plate

CASES = yaml.safe_load(
    (Path(__file__).parents[1] / "cases" / "registry" / "plates.yaml").read_text(encoding="utf-8")
)


def _expand(kind: str):
    for case in CASES:
        for plate in case[kind]:
            as_of = case.get("as_of")
            yield pytest.param(
                case["plate_type"], plate, as_of, id=f"{case['plate_type']}-{plate}-{as_of or 'any'}"
            )


@pytest.mark.parametrize(("plate_type", "plate", "as_of"), list(_expand("valid")))
def test_golden_valid_plates_are_accepted(plate_type, plate, as_of):
    assert validate_plate(plate, plate_type, as_of=as_of) == normalise_plate(plate)


@pytest.mark.parametrize(("plate_type", "plate", "as_of"), list(_expand("invalid")))
def test_golden_invalid_plates_are_refused(plate_type, plate, as_of):
    with pytest.raises(FieldError) as error:
        validate_plate(plate, plate_type, as_of=as_of)
    assert error.value.field == "plate_number"
    label = code_tables().label("plate_types", plate_type)
    assert label in error.value.zh and label in error.value.en


def test_every_plate_type_has_a_golden_case():
    assert {case["plate_type"] for case in CASES} >= {"01", "02", "07", "08", "15", "16", "23", "51", "52"}


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("鲁A·12345", "鲁A12345"),
        ("鲁a 12345", "鲁A12345"),
        ("鲁Ａ－１２３４５", "鲁A12345"),
        ("鲁A-D1234 5", "鲁AD12345"),
        ("  京b•8a3c9\t", "京B8A3C9"),
        ("鲁A・12345", "鲁A12345"),
    ],
)
def test_normalise_plate_removes_separators_and_widths(raw, normalised):
    assert normalise_plate(raw) == normalised


def test_unknown_plate_type_is_an_error_of_the_plate_type_field():
    with pytest.raises(FieldError) as error:
        validate_plate("鲁A12345", "98", field="plate")
    assert error.value.field == "plate_type"


def test_the_field_name_is_the_callers():
    with pytest.raises(FieldError) as error:
        validate_plate("鲁A1234", "02", field="capture.plate")
    assert error.value.field == "capture.plate"


def test_new_energy_plates_before_their_introduction_are_refused_only_when_a_date_is_given():
    assert validate_plate("鲁AD12345", "52") == "鲁AD12345"
    with pytest.raises(FieldError):
        validate_plate("鲁AD12345", "52", as_of=date(2015, 6, 1))
    # An ordinary plate type has undated formats: any date will do.
    assert validate_plate("鲁A12345", "02", as_of=date(1995, 1, 1)) == "鲁A12345"


def test_a_small_car_plate_is_not_a_new_energy_plate_and_vice_versa():
    with pytest.raises(FieldError):
        validate_plate("鲁A12345", "52")
    with pytest.raises(FieldError):
        validate_plate("鲁AD12345", "02")
