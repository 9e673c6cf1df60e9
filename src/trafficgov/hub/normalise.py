"""归一化 — turn values as other departments' systems really send them into keys that can be compared.

Pure functions of strings: full-width to half-width (NFKC), stray whitespace, names by their pinyin (so
that the homophone typos of a clerk's input method, 张伟/章伟, agree), company names without their legal
form or place prefix, phones without +86, plates without the province character, and ID numbers through
the registry's own validators. Each returns None for an empty value; none of them raises on a messy one.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date

from pypinyin import Style, lazy_pinyin

from trafficgov.registry import identifiers
from trafficgov.registry.codetables import code_tables

# Longest first, so that 股份有限公司 goes before 有限公司.
LEGAL_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "集团", "公司")
_DIVISION_ENDINGS = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市", "区", "县")
_SPACE = re.compile(r"\s+")
_NAME_SEPARATORS = re.compile(r"[\s·•．.\-]+")
_NON_DIGIT = re.compile(r"\D+")
_PARENTHESISED = re.compile(r"\(([^()]*)\)")
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def text(value: object) -> str | None:
    """NFKC (full-width to half-width), whitespace runs to one space, trimmed; None when nothing is left."""
    if value is None:
        return None
    cleaned = _SPACE.sub(" ", unicodedata.normalize("NFKC", str(value))).strip()
    return cleaned or None


def compact(value: object) -> str | None:
    """`text` without any space: Chinese names and addresses are written with none, but often typed with some."""
    cleaned = text(value)
    return cleaned.replace(" ", "") if cleaned else None


@functools.lru_cache(maxsize=200_000)
def _pinyin(name: str) -> str:
    return "".join(lazy_pinyin(name, style=Style.NORMAL, errors="default")).lower()


def name_key(name: object) -> str | None:
    """姓名比对键 — the pinyin without tones, lower case, no separators: 张伟 and 章伟 give "zhangwei"."""
    cleaned = text(name)
    if cleaned is None:
        return None
    key = _pinyin(_NAME_SEPARATORS.sub("", cleaned.lower()))
    return key or None


@functools.cache
def _division_prefixes() -> tuple[str, ...]:
    """Every province, city, district and county name the code tables know, with and without its ending."""
    tables = code_tables()
    names = {entry.label_zh for entry in tables.entries("divisions").values()}
    names |= {entry.label_zh for entry in tables.province_entries.values()}
    short = set()
    for name in names:
        for ending in _DIVISION_ENDINGS:
            if name.endswith(ending) and len(name) - len(ending) >= 2:
                short.add(name[: -len(ending)])
                break
    return tuple(sorted(names | short, key=len, reverse=True))


def company_core(name: object) -> str | None:
    """企业名称字号核心 — the name without legal form (有限公司…), parenthesised place or leading place names.

    山东省济南市顺达物流有限公司, 济南顺达物流有限公司 and 顺达物流 all give 顺达物流. A branch (分公司)
    keeps its branch name: it is a different registered entity from its parent.
    """
    cleaned = compact(name)
    if cleaned is None:
        return None
    core = _PARENTHESISED.sub(lambda m: "" if m.group(1) in _division_prefixes() else m.group(0), cleaned)
    stripped = True
    while stripped:
        stripped = False
        for suffix in LEGAL_SUFFIXES:
            if core.endswith(suffix) and not core.endswith("分" + suffix) and len(core) - len(suffix) >= 2:
                core, stripped = core[: -len(suffix)], True
                break
    stripped = True
    while stripped:
        stripped = False
        for prefix in _division_prefixes():
            if core.startswith(prefix) and len(core) - len(prefix) >= 2:
                core, stripped = core[len(prefix) :], True
                break
    return core


def phone(value: object) -> str | None:
    """电话 — digits only, without the country code (+86, 0086, 86 before an 11-digit mobile)."""
    cleaned = text(value)
    if cleaned is None:
        return None
    digits = _NON_DIGIT.sub("", cleaned)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits or None


@functools.cache
def _province_chars() -> frozenset[str]:
    return frozenset(code_tables().provinces)


def plate(value: object) -> str | None:
    """号牌号码 — half-width, upper case, without spaces, dots or dashes (鲁A·12345 -> 鲁A12345)."""
    if value is None or not str(value).strip():
        return None
    cleaned = re.sub(r"[·•.\-]", "", identifiers.normalise(str(value)))
    return cleaned or None


def plate_tail(value: object) -> str | None:
    """号牌号码去省份简称 — the plate without its province character (鲁A12345 -> A12345), for comparison."""
    cleaned = plate(value)
    if cleaned and cleaned[0] in _province_chars():
        cleaned = cleaned[1:]
    return cleaned or None


def code(value: object) -> str | None:
    """An identifier as typed (ID number, USCC, VIN), half-width, upper case, no spaces; not validated."""
    if value is None or not str(value).strip():
        return None
    return identifiers.normalise(str(value)) or None


def resident_id(value: object) -> str | None:
    """居民身份证号码 — the valid 18-digit number (a 15-digit one upgraded), or None when it is not valid."""
    number = code(value)
    if number is None or not identifiers.is_resident_id(number):
        return None
    return identifiers.parse_id_number(number).number


def id_text(value: object) -> str | None:
    """An ID number for fuzzy comparison: the valid 18-digit form when it is valid, else as typed."""
    return resident_id(value) or code(value)


def uscc(value: object) -> str | None:
    """统一社会信用代码 — the valid code, or None."""
    typed = code(value)
    return typed if typed and identifiers.is_uscc(typed) else None


def vin(value: object) -> str | None:
    """车辆识别代号 — the valid VIN, or None."""
    typed = code(value)
    if typed is None:
        return None
    try:
        return identifiers.validate_vin(typed)
    except identifiers.FieldError:
        return None


def day(value: object) -> str | None:
    """日期 — ISO text of a date written 2021年3月5日, 2021/3/5, 2021.3.5, 20210305 or 2021-03-05; None if not a date."""
    if isinstance(value, date):
        return value.isoformat()
    cleaned = compact(value)
    if cleaned is None:
        return None
    for pattern in _DATE_PATTERNS:
        found = pattern.match(cleaned)
        if found:
            try:
                return date(*map(int, found.groups())).isoformat()
            except ValueError:
                return None
    return None


def sex(value: object) -> str | None:
    """性别 — "M" or "F" from 男/女, M/F, 1/2 (GB/T 2261.1); None otherwise."""
    cleaned = text(value)
    if cleaned is None:
        return None
    return {"男": "M", "M": "M", "1": "M", "女": "F", "F": "F", "2": "F"}.get(cleaned.upper())
