"""National-standard identifiers: resident ID (GB 11643), USCC (GB 32100), VIN (GB 16735).

Pure functions of strings. Each validator normalises (full-width to half-width, case, spaces) and
raises FieldError naming the field. python-stdnum's cn.ric is not used: its region check refuses
real numbers whose division code was abolished or created later (see docs/decisions/0002).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from operator import mul

from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import uscc as stdnum_uscc

from trafficgov.errors import FieldError

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_ID18 = re.compile(r"^\d{17}[\dX]$")
_ID15 = re.compile(r"^\d{15}$")
_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


def normalise(value: str) -> str:
    """Full-width to half-width (NFKC), upper case, no spaces: how other systems' codes really arrive."""
    if value.isascii() and value.isalnum():
        return value.upper()
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()


@dataclass(frozen=True)
class ResidentId:
    """居民身份证号码 — a valid 18-digit number and what it says of its holder."""

    number: str
    division: str
    birth_date: date
    sex: str  # "M" or "F"


def id_check_digit(first17: str) -> str:
    """GB 11643 check character of the first 17 digits."""
    return ID_CHECK[sum(map(mul, map(int, first17), ID_WEIGHTS)) % 11]


def upgrade_id15(number15: str) -> str:
    """Old 15-digit number -> 18 digits: insert the century "19" and append the check digit."""
    first17 = number15[:6] + "19" + number15[6:]
    return first17 + id_check_digit(first17)


def parse_id_number(value: str, field: str = "id_number") -> ResidentId:
    """Validate a resident ID number (18 digits, or the old 15-digit form, converted)."""
    number = normalise(value)
    if _ID15.match(number):
        number = upgrade_id15(number)
    elif not _ID18.match(number):
        raise FieldError(
            field,
            f"身份证号码格式错误（应为18位，末位可为X）：{value}",
            f"resident ID number must be 18 characters (digits, last may be X): {value!r}",
        )
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise FieldError(field, f"身份证号码中的出生日期无效：{value}", f"birth date in ID number is not a real date: {value!r}") from None
    if born.year < 1850:
        raise FieldError(field, f"身份证号码中的出生年份无效：{value}", f"birth year in ID number is implausible: {value!r}")
    if id_check_digit(number[:17]) != number[17]:
        raise FieldError(field, f"身份证号码校验码错误：{value}", f"resident ID number check digit is wrong: {value!r}")
    return ResidentId(number=number, division=number[:6], birth_date=born, sex="M" if int(number[16]) % 2 else "F")


def uscc_check_char(first17: str) -> str:
    """GB 32100 check character of the first 17 characters."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str, field: str = "uscc") -> str:
    """统一社会信用代码 — validated through python-stdnum's cn.uscc; returns the normalised code."""
    code = normalise(value)
    try:
        return stdnum_uscc.validate(code)
    except stdnum_exceptions.InvalidChecksum:
        raise FieldError(field, f"统一社会信用代码校验码错误：{value}", f"unified social credit code check character is wrong: {value!r}") from None
    except stdnum_exceptions.ValidationError:
        raise FieldError(field, f"统一社会信用代码格式错误：{value}", f"unified social credit code is malformed: {value!r}") from None


def vin_check_char(vin: str) -> str:
    """GB 16735 check character (position 9) of a 17-character VIN."""
    remainder = sum(map(mul, map(VIN_VALUES.__getitem__, vin), VIN_WEIGHTS)) % 11
    return "X" if remainder == 10 else str(remainder)


def validate_vin(value: str, field: str = "vin") -> str:
    """车辆识别代号 — 17 characters without I, O, Q, with a valid check character in position 9."""
    vin = normalise(value)
    if not _VIN.match(vin):
        raise FieldError(field, f"车辆识别代号格式错误（17位，不含I、O、Q）：{value}", f"VIN must be 17 characters without I, O, Q: {value!r}")
    if vin_check_char(vin) != vin[8]:
        raise FieldError(field, f"车辆识别代号校验位错误：{value}", f"VIN check character is wrong: {value!r}")
    return vin


def is_resident_id(value: str) -> bool:
    try:
        parse_id_number(value)
    except FieldError:
        return False
    return True


def is_uscc(value: str) -> bool:
    try:
        validate_uscc(value)
    except FieldError:
        return False
    return True
