"""数据不一致 — deterministic corruptions that make one record disagree the way real Chinese systems do.

Different departments' systems hold the same person, company or vehicle differently: a clerk's input
method picks a homophone (张伟/章伟), a form was filled in full-width characters, an ID number has two
digits swapped or one dropped, the person changed phones, a company is written with or without 有限公司
or its city, a plate without its province character, a date in any of four formats. Every choice is drawn
from the `random.Random` given, so the same seed gives the same disagreements. The homophone table is
data (data/homophones.csv), covering the surnames and given-name characters of demo/names.py.
"""

from __future__ import annotations

import csv
import functools
import random
from datetime import date
from pathlib import Path

HOMOPHONES_FILE = Path(__file__).parent / "data" / "homophones.csv"
PHONE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                  "156", "157", "158", "159", "176", "177", "178", "180", "182", "185", "186", "187",
                  "188", "189", "191", "199")
LEGAL_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司")
CITY_PREFIXES = ("山东省济南市", "济南市", "济南")


@functools.cache
def homophones() -> dict[str, tuple[str, ...]]:
    """同音字表 — each character and the characters an input method may put in its place."""
    table: dict[str, tuple[str, ...]] = {}
    with HOMOPHONES_FILE.open(encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            options = tuple(h for h in row["homophones"].split("|") if h and h != row["char"])
            if len(row["char"]) != 1 or not options or any(len(h) != 1 for h in options):
                raise ValueError(f"{HOMOPHONES_FILE}: bad row {row}")
            table[row["char"]] = options
    return table


def to_fullwidth(text: str) -> str:
    """ASCII letters, digits and punctuation to their full-width forms; a space to the ideographic space."""
    return "".join("\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


class Corruptor:
    """Makes one value disagree with itself as another department's system would hold it."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def homophone(self, name: str) -> str:
        """One character replaced by a homophone (张伟 -> 章伟); unchanged when no character has one."""
        table = homophones()
        positions = [i for i, c in enumerate(name) if c in table]
        if not positions:
            return name
        i = self.rng.choice(positions)
        return name[:i] + self.rng.choice(table[name[i]]) + name[i + 1 :]

    def fullwidth(self, text: str) -> str:
        """The text as typed with a full-width input mode (１３８…, ＡＢＣ)."""
        return to_fullwidth(text)

    def id_typo(self, id_number: str) -> str:
        """Two adjacent digits swapped, or one digit dropped; never the number itself (unless it has under two)."""
        if len(id_number) < 2:
            return id_number
        swappable = [i for i in range(len(id_number) - 1) if id_number[i] != id_number[i + 1]]
        if swappable and self.rng.random() < 0.5:
            i = self.rng.choice(swappable)
            return id_number[:i] + id_number[i + 1] + id_number[i] + id_number[i + 2 :]
        i = self.rng.randrange(len(id_number))
        return id_number[:i] + id_number[i + 1 :]

    def new_phone(self, phone: str) -> str:
        """Another mobile number (the person changed phones), never the same one."""
        while True:
            candidate = self.rng.choice(PHONE_PREFIXES) + f"{self.rng.randrange(100_000_000):08d}"
            if candidate != phone:
                return candidate

    def company_variant(self, name: str) -> str:
        """The same company written with or without its legal form, or with or without its city in front."""
        variants = []
        for suffix in LEGAL_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix) + 2:
                variants.append(name[: -len(suffix)])
                if suffix == "有限公司":
                    variants.append(name[: -len(suffix)] + "有限责任公司")
                break
        prefix = next((p for p in CITY_PREFIXES if name.startswith(p)), None)
        if prefix is not None:
            variants.append(name[len(prefix) :])
            variants.extend(p + name[len(prefix) :] for p in CITY_PREFIXES if p != prefix)
        else:
            variants.extend(p + name for p in CITY_PREFIXES)
        return self.rng.choice(variants)

    def plate_variant(self, plate: str) -> str:
        """The plate without its province character, in lower case, full-width, or with a dot (鲁A·12345)."""
        choices = [plate[1:], plate.lower(), to_fullwidth(plate), plate[:2] + "·" + plate[2:]]
        return self.rng.choice([c for c in choices if c != plate] or [plate[1:]])

    def date_text(self, d: date) -> str:
        """A date as some system writes it: 2021年3月5日, 2021/3/5, 20210305 or 2021-03-05."""
        formats = (
            f"{d.year}年{d.month}月{d.day}日",
            f"{d.year}/{d.month}/{d.day}",
            d.strftime("%Y%m%d"),
            d.isoformat(),
        )
        return self.rng.choice(formats)
