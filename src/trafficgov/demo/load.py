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


def seed_sharing(db: Database) -> int:
    """The demo's governed sharing: the transport department holds an approved grant for vehicle inspection
    status and a pending request for drivers' points, so both the partner's and the approver's pages show work."""
    from datetime import UTC, datetime, timedelta

    from trafficgov.accounts.service import get_user
    from trafficgov.hub import sharing_service

    partner, approver = get_user(db, "partner"), get_user(db, "admin")
    if partner is None or approver is None or sharing_service.list_grants(db, partner):
        return 0
    today = datetime.now(UTC).date()
    granted = sharing_service.request_grant(
        db, partner, dataset="vehicle_inspection_status", purpose="transport_safety_supervision",
        fields=["plate_number", "plate_type", "use_nature", "status", "inspection_due", "inspection_overdue", "insurance_expiry", "insurance_expired"],
        legal_basis="《道路运输条例》第五十三条", valid_from=today, expires_on=today + timedelta(days=365),
    )
    sharing_service.decide_grant(db, approver, granted.id, approve=True, note="营运车辆检验、保险状态为道路运输安全监管所必需")
    sharing_service.request_grant(
        db, partner, dataset="driver_points", purpose="transport_safety_supervision", fields=["id_number", "name", "classes", "status", "points"],
        legal_basis="《道路运输条例》第五十三条", valid_from=today, expires_on=today + timedelta(days=180),
    )
    return 2


def sync_demo_sources(db: Database, actor: Actor, city_dir: Path, seed: int, *, progress: Callable[[int, int], None] | None = None) -> list:
    """The demo city's department systems (files that disagree the way real ones do) written and synced into
    the hub, each through its own mapping, as `trafficgov hub sync` would; then the golden records are built and the data quality measured."""
    from datetime import UTC, datetime

    from trafficgov.demo.sources import write_sources
    from trafficgov.hub.mapping import mappings
    from trafficgov.hub.sync_service import sync_source

    write_sources(city_dir, seed)
    codes = sorted(mappings())
    summaries = []
    for done, code in enumerate(codes, start=1):
        summaries.append(sync_source(db, code, actor, origin=city_dir / "sources", at=datetime.now(UTC)))
        if progress:
            progress(done, len(codes))
    from trafficgov.hub import golden_service, quality_service

    golden_service.run(db, actor)
    quality_service.measure(db, actor)
    return summaries
