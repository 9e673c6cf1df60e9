"""Bearer tokens for the API: HMAC-signed, self-contained, so checking one costs no database read."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

from trafficgov.accounts.model import Actor, Role

TOKEN_LIFETIME = timedelta(hours=8)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(key: bytes, actor: Actor, now: datetime, lifetime: timedelta = TOKEN_LIFETIME) -> str:
    claims = {
        "sub": actor.username, "uid": actor.user_id, "role": str(actor.role), "unit": actor.unit,
        "name": actor.display_name, "idn": actor.id_number, "uscc": actor.uscc,
        "exp": int((now + lifetime).timestamp()),
    }
    body = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    signature = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    return f"{body}.{signature}"


def read_token(key: bytes, token: str, now: datetime) -> Actor | None:
    """The actor a valid, unexpired token names; None for anything else."""
    try:
        body, signature = token.split(".", 1)
        expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature):
            return None
        claims = json.loads(_unb64(body))
        if claims["exp"] < now.timestamp():
            return None
        return Actor(
            username=claims["sub"], role=Role(claims["role"]), unit=claims.get("unit"),
            display_name=claims.get("name") or "", id_number=claims.get("idn"), uscc=claims.get("uscc"),
            user_id=claims.get("uid"),
        )
    except (ValueError, KeyError, TypeError):
        return None
