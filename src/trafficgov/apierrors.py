"""The error body every API route answers with, documented once for the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    reason_zh: str
    reason_en: str
    field: str | None = None
    code: str | None = None  # a stable reason code where the route names one (e.g. governed sharing's refusals)


class ErrorBody(BaseModel):
    detail: ErrorDetail | list[Any] | str


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "请求格式错误 — malformed request",
        401: "未登录 — authentication required",
        403: "无权访问 — forbidden",
        404: "未找到 — not found",
        413: "文件过大 — upload too large",
        422: "数据校验失败 — a field is invalid (the reason names it)",
        429: "请求过于频繁 — too many attempts",
    }
    return {code: {"model": ErrorBody, "description": text[code]} for code in codes}


COMMON = responses(400, 401, 403, 422)
