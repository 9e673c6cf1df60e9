"""Corruptor: deterministic disagreements of the kinds real Chinese systems produce."""

from __future__ import annotations

import random
import re
from datetime import date

import pytest
from pypinyin import lazy_pinyin

from trafficgov.demo import names
from trafficgov.demo.corrupt import Corruptor, homophones
from trafficgov.hub import normalise as nz
from trafficgov.registry.identifiers import id_check_digit, is_resident_id

ID18 = "11010519491231002X"


def corruptor(seed: int = 1) -> Corruptor:
    return Corruptor(random.Random(seed))


def test_every_homophone_sounds_the_same_without_tones() -> None:
    for char, options in homophones().items():
        for option in options:
            assert lazy_pinyin(option) == lazy_pinyin(char), (char, option)


def test_homophones_cover_the_frequent_demo_surnames() -> None:
    frequent = [s for s, weight in names.SURNAMES if weight >= 20]
    assert all(s in homophones() for s in frequent)


def test_homophone_changes_one_character_and_keeps_the_name_key() -> None:
    c = corruptor()
    for name in ("张伟", "王芳", "李秀英", "欧阳娜"):
        typo = c.homophone(name)
        assert typo != name and len(typo) == len(name)
        assert sum(a != b for a, b in zip(typo, name, strict=True)) == 1
        assert nz.name_key(typo) == nz.name_key(name)
    assert c.homophone("Smith") == "Smith"


def test_fullwidth_folds_back_under_nfkc() -> None:
    text = "鲁A12345 138-0000"
    wide = corruptor().fullwidth(text)
    assert wide != text and not re.search("[A-Za-z0-9]", wide)
    assert nz.text(wide) == text


def test_id_typo_swaps_or_drops_and_is_never_valid() -> None:
    c = corruptor()
    seen = set()
    for _ in range(200):
        typo = c.id_typo(ID18)
        assert typo != ID18
        assert not is_resident_id(typo)
        if len(typo) == 18:
            assert sorted(typo) == sorted(ID18)
            seen.add("swap")
        else:
            assert len(typo) == 17
            seen.add("drop")
    assert seen == {"swap", "drop"}


def test_new_phone_is_another_mobile_number() -> None:
    c = corruptor()
    for _ in range(50):
        phone = c.new_phone("13800001234")
        assert phone != "13800001234" and re.fullmatch(r"1\d{10}", phone)


@pytest.mark.parametrize("name", ["济南顺达物流有限公司", "顺达物流有限公司", "山东省济南市顺达物流股份有限公司", "顺达物流"])
def test_company_variant_keeps_the_core(name: str) -> None:
    c = corruptor()
    variants = {c.company_variant(name) for _ in range(30)}
    assert len(variants) >= 2 and name not in variants
    assert {nz.company_core(v) for v in variants} == {"顺达物流"}


def test_plate_variant_keeps_the_plate_tail() -> None:
    c = corruptor()
    variants = {c.plate_variant("鲁A12345") for _ in range(40)}
    assert "A12345" in variants and "鲁A12345" not in variants
    assert {nz.plate_tail(v) for v in variants} == {"A12345"}


def test_date_text_uses_the_four_formats_and_reads_back() -> None:
    c = corruptor()
    texts = {c.date_text(date(2021, 3, 5)) for _ in range(60)}
    assert texts == {"2021年3月5日", "2021/3/5", "20210305", "2021-03-05"}
    assert {nz.day(t) for t in texts} == {"2021-03-05"}


def test_same_seed_same_corruptions() -> None:
    def run(seed: int) -> list[str]:
        c = corruptor(seed)
        first17 = "37010219850312123"
        return [c.homophone("张伟"), c.id_typo(first17 + id_check_digit(first17)), c.new_phone("13800001234"),
                c.company_variant("济南顺达物流有限公司"), c.plate_variant("鲁A12345"), c.date_text(date(2020, 1, 2))]

    assert run(5) == run(5)
    assert any(run(5) != run(s) for s in range(6, 10))
