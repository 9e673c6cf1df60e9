"""Masking personal numbers and names for pages and exports."""

from __future__ import annotations

import pytest

from trafficgov.registry.masking import mask_id_number, mask_name, mask_phone


def test_resident_id_keeps_first_six_and_last_four():
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("11010519491231002x") == "110105********002X"


def test_fifteen_digit_resident_id_keeps_first_six_and_last_four():
    assert mask_id_number("110105491231002") == "110105*****1002"


@pytest.mark.parametrize(
    ("number", "masked"),
    [("H12345678", "H1*****78"), ("E12345678", "E1*****78"), ("ABCDE", "AB*DE"), ("ABCD", "****"), ("", "")],
)
def test_other_document_numbers_keep_first_two_and_last_two(number, masked):
    assert mask_id_number(number) == masked


def test_mobile_phone_keeps_first_three_and_last_four():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("0531-86123456") == "053******3456"
    assert mask_phone("12345") == "***45"


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("张小三", "张*三"), ("欧阳小锋", "欧**锋"), ("张", "张"), ("", "")]
)
def test_name_keeps_its_first_character(name, masked):
    assert mask_name(name) == masked


def test_every_mask_passes_none_through():
    assert mask_id_number(None) is None
    assert mask_phone(None) is None
    assert mask_name(None) is None


def test_masked_resident_id_hides_the_birth_date():
    assert "19491231" not in mask_id_number("11010519491231002X")
