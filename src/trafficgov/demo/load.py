"""Load a built demo city into a store: organisations, master data through the import engine, accounts,
and with `history` the violations, accidents, inspections, safety records and GPS alarms credit scoring reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from trafficgov.accounts import service as accounts
from trafficgov.accounts.model import Actor, Role
from trafficgov.imports.service import ImportSummary, import_file
from trafficgov.store.db import Database

MASTER_KINDS = ("people", "companies", "licences", "vehicles", "employments")
HISTORY_KINDS = ("violations", "accidents", "inspections", "safety_records", "gps_alarms")


def load_city(
    db: Database,
    manifest_path: Path,
    actor: Actor,
    *,
    argon2_profile: str = "production",
    progress_for: Callable[[str], Callable[[int, int], None] | None] | None = None,
    history: bool = False,
) -> dict[str, ImportSummary]:
    """Import the city's files in dependency order and create one demo account per role."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    folder = manifest_path.parent
    files = {k: folder / Path(v).name for k, v in manifest["files"].items()}
    accounts.load_organisations(db, files["organisations"])
    summaries = {}
    for kind in MASTER_KINDS:
        summaries[kind] = import_file(db, kind, files[kind], actor, progress=progress_for(kind) if progress_for else None)
    if "cameras" in files:
        from trafficgov.enforcement.service import load_demo_devices

        load_demo_devices(db, actor, files["cameras"])
    if history:
        summaries.update(load_history(db, manifest_path, actor, progress_for=progress_for))
    for role, account in manifest["accounts"].items():
        accounts.create_user(
            db, account["username"], account["password"], Role(role), display_name=account.get("display_name", ""),
            org_code=account.get("org_code"), id_number=account.get("id_number"), uscc=account.get("uscc"),
            profile=argon2_profile,
        )
    return summaries


def load_history(db: Database, manifest_path: Path, actor: Actor, *, progress_for: Callable[[str], Callable[[int, int], None] | None] | None = None) -> dict[str, ImportSummary]:
    """Import the city's history (violations, accidents, inspections, safety records, GPS alarms) as
    `trafficgov import` would: accidents through their own ingest (one accident, several parties)."""
    from trafficgov.imports.kinds import get_ingest
    from trafficgov.imports.service import ingest_file

    folder = manifest_path.parent
    files = {k: folder / Path(v).name for k, v in json.loads(manifest_path.read_text(encoding="utf-8"))["files"].items()}
    summaries = {}
    for kind in HISTORY_KINDS:
        run = ingest_file if get_ingest(kind) else import_file
        summaries[kind] = run(db, kind, files[kind], actor, progress=progress_for(kind) if progress_for else None)
    return summaries


def demo_accounts(manifest_path: Path) -> dict[str, dict]:
    return json.loads(manifest_path.read_text(encoding="utf-8"))["accounts"]
