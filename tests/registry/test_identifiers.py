"""GB 11643 resident ID, GB 32100 USCC and GB 16735 VIN: the standards' examples and properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trafficgov.errors import FieldError
from trafficgov.registry.codetables import code_tables
from trafficgov.registry.identifiers import (
    USCC_ALPHABET,
    VIN_VALUES,
    id_check_digit,
    is_resident_id,
    is_uscc,
    parse_id_number,
    upgrade_id15,
    uscc_check_char,
    validate_uscc,
    validate_vin,
    vin_check_char,
)

ID_EXAMPLE = "11010519491231002X"
USCC_EXAMPLE = "91350100M000100Y43"
VIN_EXAMPLE = "LVSFKAML4GF423558"
VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


def test_standard_resident_id_example_is_valid_and_parsed():
    parsed = parse_id_number(ID_EXAMPLE)
    assert parsed.number == ID_EXAMPLE
    assert parsed.division == "110105"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "F"  # digit 17 is 2: even


def test_resident_id_accepts_lower_case_x_full_width_and_spaces():
    assert parse_id_number("110105 19491231 002x").number == ID_EXAMPLE
    assert parse_id_number("１１０１０５１９４９１２３１００２Ｘ").number == ID_EXAMPLE


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310021",  # wrong check digit
        "11010519491231002",  # 17 characters
        "11010519491231002XX",  # 19 characters
        "1101051949123100X2",  # X not in last place
        "110105194902300028",  # 30 February
        "110105184912310024",  # born before 1850
        "",
    ],
)
def test_malformed_resident_ids_are_refused_naming_the_field(number):
    with pytest.raises(FieldError) as error:
        parse_id_number(number, field="holder_id")
    assert error.value.field == "holder_id"
    assert error.value.zh and error.value.en


def test_fifteen_digit_number_is_converted_to_eighteen():
    assert upgrade_id15("110105491231002") == ID_EXAMPLE
    parsed = parse_id_number("110105491231002")
    assert parsed.number == ID_EXAMPLE
    assert parsed.birth_date == date(1949, 12, 31)


def test_number_with_an_abolished_division_code_is_accepted():
    # 370181 章丘市 became 370114 章丘区 in 2016; people keep the old code for life.
    first17 = "37018119800101123"
    number = first17 + id_check_digit(first17)
    parsed = parse_id_number(number)
    assert parsed.division == "370181"
    division = code_tables().divisions["370181"]
    assert division.abolished and division.replaced_by == ["370114"]


def test_number_whose_division_is_younger_than_its_holder_is_accepted():
    # 370116 莱芜区 exists only since 2019; someone registered there later may be born in 1950.
    first17 = "37011619500101001"
    assert is_resident_id(first17 + id_check_digit(first17))


def test_standard_uscc_example_is_valid():
    assert validate_uscc(USCC_EXAMPLE) == USCC_EXAMPLE
    assert validate_uscc(" 91350100m000100y43 ") == USCC_EXAMPLE
    assert uscc_check_char(USCC_EXAMPLE[:17]) == "3"


@pytest.mark.parametrize(
    "code", ["91350100M000100Y44", "91350100M000100Y4", "9135010OM000100Y43", "A1350100M000100Y43", ""]
)
def test_malformed_usccs_are_refused(code):
    with pytest.raises(FieldError) as error:
        validate_uscc(code, field="company_uscc")
    assert error.value.field == "company_uscc"
    assert not is_uscc(code)


def test_standard_vin_example_is_valid():
    assert validate_vin(VIN_EXAMPLE) == VIN_EXAMPLE
    assert validate_vin("lvsfkaml4gf423558") == VIN_EXAMPLE
    assert vin_check_char(VIN_EXAMPLE) == "4"


@pytest.mark.parametrize(
    "vin",
    ["LVSFKAML5GF423558", "LVSFKAML4GF42355", "LVSFKAMI4GF423558", "OVSFKAML4GF423558", "QVSFKAML4GF423558"],
)
def test_malformed_vins_are_refused(vin):
    with pytest.raises(FieldError) as error:
        validate_vin(vin)
    assert error.value.field == "vin"


# --- properties ---------------------------------------------------------------------------------

divisions = st.integers(min_value=100000, max_value=999999).map(str)
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31))
sequences = st.integers(min_value=0, max_value=999).map("{:03d}".format)


@st.composite
def resident_ids(draw):
    first17 = draw(divisions) + draw(births).strftime("%Y%m%d") + draw(sequences)
    return first17 + id_check_digit(first17)


@st.composite
def usccs(draw):
    first17 = draw(st.integers(min_value=0, max_value=99_999_999).map("{:08d}".format)) + "".join(
        draw(st.lists(st.sampled_from(USCC_ALPHABET), min_size=9, max_size=9))
    )
    return first17 + uscc_check_char(first17)


@st.composite
def vins(draw):
    chars = draw(st.lists(st.sampled_from(VIN_ALPHABET), min_size=17, max_size=17))
    vin = "".join(chars)
    return vin[:8] + vin_check_char(vin) + vin[9:]


@st.composite
def one_change(draw, valid, alphabet):
    number = draw(valid)
    position = draw(st.integers(min_value=0, max_value=len(number) - 1))
    replacement = draw(st.sampled_from([c for c in alphabet if c != number[position]]))
    return number, position, number[:position] + replacement + number[position + 1 :]


@settings(max_examples=100, deadline=None)
@given(resident_ids())
def test_generated_resident_ids_round_trip(number):
    parsed = parse_id_number(number)
    assert parsed.number == number
    assert parsed.birth_date.strftime("%Y%m%d") == number[6:14]
    assert parse_id_number(parsed.number) == parsed


@settings(max_examples=150, deadline=None)
@given(one_change(resident_ids(), "0123456789X"))
def test_resident_id_with_any_one_character_changed_is_refused(case):
    _, _, changed = case
    assert not is_resident_id(changed)


@settings(max_examples=100, deadline=None)
@given(usccs())
def test_generated_usccs_round_trip(code):
    assert validate_uscc(code) == code


@settings(max_examples=150, deadline=None)
@given(one_change(usccs(), USCC_ALPHABET))
def test_uscc_with_any_one_character_changed_is_refused(case):
    _, _, changed = case
    assert not is_uscc(changed)


@settings(max_examples=100, deadline=None)
@given(vins())
def test_generated_vins_round_trip(vin):
    assert validate_vin(vin) == vin


@settings(max_examples=150, deadline=None)
@given(one_change(vins(), VIN_ALPHABET))
def test_vin_with_one_character_changed_to_a_different_value_is_refused(case):
    vin, position, changed = case
    # GB 16735 transliterates letters to digits (A and J are both 1, B, K and S are 2, ...), and the
    # check cannot see a change between characters of the same value: only those pass.
    if position != 8 and VIN_VALUES[vin[position]] == VIN_VALUES[changed[position]]:
        assert validate_vin(changed) == changed
    else:
        with pytest.raises(FieldError):
            validate_vin(changed)
