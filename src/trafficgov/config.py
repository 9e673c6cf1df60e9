"""Settings read from the environment, with embedded defaults that need no server."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """运行配置 — runtime settings; every field has an environment variable."""

    database_url: str
    var_dir: Path
    audit_key_file: Path
    session_key_file: Path
    max_upload_bytes: int
    cli_user: str
    argon2_profile: str  # "production" or "test" (cheap parameters, tests only)
    audit_seal_seconds: float = 60.0  # how often the running app signs the audit chain's head
    worker_threads: int = 4  # threads that run the (synchronous) routes of one web worker

    @classmethod
    def from_env(cls) -> Settings:
        var_dir = Path(os.environ.get("TRAFFICGOV_VAR_DIR", "var")).resolve()
        url = os.environ.get("TRAFFICGOV_DATABASE_URL") or f"sqlite:///{var_dir / 'trafficgov.db'}"
        keys = var_dir / "keys"
        return cls(
            database_url=url,
            var_dir=var_dir,
            audit_key_file=Path(os.environ.get("TRAFFICGOV_AUDIT_KEY_FILE", keys / "audit.key")),
            session_key_file=Path(os.environ.get("TRAFFICGOV_SESSION_KEY_FILE", keys / "session.key")),
            max_upload_bytes=int(os.environ.get("TRAFFICGOV_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)),
            cli_user=os.environ.get("TRAFFICGOV_USER", "admin"),
            argon2_profile=os.environ.get("TRAFFICGOV_ARGON2_PROFILE", "production"),
            audit_seal_seconds=float(os.environ.get("TRAFFICGOV_AUDIT_SEAL_SECONDS", 60)),
            worker_threads=int(os.environ.get("TRAFFICGOV_WORKER_THREADS", 4)),
        )


def read_or_create_key(path: Path) -> bytes:
    """Read a secret key file, creating it (mode 0600) on first use.

    Keys live outside the database so that someone who can rewrite tables cannot forge signatures.
    """
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
    return key
