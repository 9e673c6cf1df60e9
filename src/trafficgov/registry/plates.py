"""号牌号码 — normalising plate numbers and checking them against their plate type's formats.

The formats are data (registry/data/plate_types.yaml), compiled once when the code tables load, so a
check costs one dictionary lookup and one regular-expression match.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from trafficgov.errors import FieldError
from trafficgov.registry.codetables import CodeTables, code_tables

# Separators people and cameras put inside plate numbers: spaces, the middle dot in its several
# code points, hyphens and bullets. NFKC has already turned full-width forms into these.
_DROP = str.maketrans("", "", " \t\r\n\u00a0\u3000·・‧∙⋅•-‐‑‒–—")


def normalise_plate(value: str) -> str:
    """Half-width (NFKC), upper case, without spaces or separators: `鲁A·12345` and `鲁ａ 12345` agree."""
    return unicodedata.normalize("NFKC", value).translate(_DROP).upper()


def validate_plate(
    plate_number: str,
    plate_type: str,
    tables: CodeTables | None = None,
    field: str = "plate_number",
    *,
    as_of: date | None = None,
) -> str:
    """Return the normalised plate number, or raise FieldError if it does not fit its plate type.

    `as_of` picks the formats in force on that day (new-energy serial letters changed over time);
    without it, a format of any period is accepted. An unknown plate type is an error of `plate_type`.
    """
    tables = tables if tables is not None else code_tables()
    entry = tables.plate_types.get(plate_type)
    if entry is None:
        raise FieldError(
            "plate_type", f"号牌种类代码无效：{plate_type}", f"unknown plate type code: {plate_type!r}"
        )
    plate = normalise_plate(plate_number) if isinstance(plate_number, str) else ""
    if not entry.matches(plate, as_of):
        raise FieldError(
            field,
            f"号牌号码“{plate_number}”不符合{entry.label_zh}（{entry.code}）的格式",
            f"plate number {plate_number!r} does not fit the format of plate type {entry.code} ({entry.label_zh})",
        )
    return plate
