"""脱敏 — masking personal numbers and names for pages and exports (个人信息保护法 Art. 51: 去标识化).

Each function takes None and returns None, so a missing value needs no special case in templates.
Masking shows enough to tell records apart at a glance and never enough to rebuild the number.
"""

from __future__ import annotations

import re

_RESIDENT_ID = re.compile(r"^(?:[0-9]{17}[0-9Xx]|[0-9]{15})$")


def _mask(value: str, keep_start: int, keep_end: int) -> str:
    hidden = len(value) - keep_start - keep_end
    if hidden <= 0:
        # Too short to keep anything and still hide something: hide it all.
        return "*" * len(value)
    return value[:keep_start] + "*" * hidden + value[len(value) - keep_end :]


def mask_id_number(value: str | None) -> str | None:
    """身份证号码 keeps its first 6 and last 4 (`110105********002X`); other documents their first and last 2."""
    if value is None:
        return None
    number = value.strip()
    if _RESIDENT_ID.match(number):
        return _mask(number.upper(), 6, 4)
    return _mask(number, 2, 2)


def mask_phone(value: str | None) -> str | None:
    """手机号码 keeps its first 3 and last 4 (`138****1234`); shorter numbers keep only their last 2."""
    if value is None:
        return None
    number = value.strip()
    if len(number) >= 8:
        return _mask(number, 3, 4)
    return _mask(number, 0, 2)


def mask_name(value: str | None) -> str | None:
    """姓名 keeps its first character, and its last when it has three or more (`张*`, `张*三`, `欧**锋`)."""
    if value is None:
        return None
    name = value.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return _mask(name, 1, 1)
