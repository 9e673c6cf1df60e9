"""Password hashing with argon2 (argon2-cffi); a cheap parameter set exists for tests only."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@cache
def hasher(profile: str = "production") -> PasswordHasher:
    if profile == "test":
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def hash_password(password: str, profile: str = "production") -> str:
    return hasher(profile).hash(password)


def verify_password(password_hash: str, password: str, profile: str = "production") -> bool:
    """Slow on purpose (about 0.1 s in production): call it in a worker thread, never in the event loop."""
    try:
        return hasher(profile).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
