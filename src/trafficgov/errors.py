"""Errors every context shares: a bad value names its field, in Chinese and in English."""

from __future__ import annotations


class FieldError(ValueError):
    """字段错误 — a value that fails validation; the message names the field in both languages."""

    def __init__(self, field: str, zh: str, en: str) -> None:
        super().__init__(f"{field}: {en}")
        self.field = field
        self.zh = zh
        self.en = en

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason_zh": self.zh, "reason_en": self.en}


class NotFound(LookupError):
    """未找到 — the record asked for does not exist (or the caller may not know it exists)."""


class Forbidden(PermissionError):
    """无权访问 — the caller's role or scope does not allow this; `code` names the reason for machines."""

    def __init__(self, zh: str, en: str, code: str | None = None) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en
        self.code = code


class Conflict(Exception):
    """冲突 — the record changed under the caller (another officer acted first); answered with 409."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en
