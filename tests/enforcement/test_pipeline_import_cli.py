"""`trafficgov import captures FILE.jsonl`: the same intake as the API, with quarantine and a re-run that changes nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import select
from test_pipeline_api import DAY, capture
from typer.testing import CliRunner

from trafficgov.cli import app
from trafficgov.imports.store import QuarantineRow
from trafficgov.registry.store import VehicleRow


def test_captures_import_from_jsonl_with_quarantine_and_idempotency(loaded, settings, accounts, demo_dir: Path, tmp_path: Path):
    rows = list(csv.DictReader((demo_dir / "cameras.csv").open(encoding="utf-8")))
    camera = next(r for r in rows if r["kind"] != "video_patrol" and r["certified_until"] >= "2026-07-01" and r["location_published_at"] and r["location_published_at"] < "2026-06-01")
    with loaded.transaction() as session:
        vehicle = session.scalars(select(VehicleRow).where(VehicleRow.owner_id == accounts["citizen"]["id_number"]).order_by(VehicleRow.id)).first()
    good = capture("cli-1", camera["camera_id"], camera["district"], vehicle)
    bad = {**capture("cli-2", camera["camera_id"], camera["district"], vehicle), "behavior": "flying"}
    path = tmp_path / "captures.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in (good, bad)) + "\n{not json\n", encoding="utf-8")
    env = {"TRAFFICGOV_DATABASE_URL": settings.database_url, "TRAFFICGOV_VAR_DIR": str(settings.var_dir), "TRAFFICGOV_AUDIT_KEY_FILE": str(settings.audit_key_file)}
    first = CliRunner().invoke(app, ["import", "captures", str(path), "--json"], env=env)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout.strip().splitlines()[-1]) == {"kind": "captures", "read": 3, "inserted": 1, "updated": 0, "unchanged": 0, "quarantined": 2}
    again = CliRunner().invoke(app, ["import", "captures", str(path), "--json"], env=env)
    assert json.loads(again.stdout.strip().splitlines()[-1])["unchanged"] == 1
    with loaded.transaction() as session:
        quarantined = session.scalars(select(QuarantineRow).where(QuarantineRow.kind == "captures").order_by(QuarantineRow.id)).all()
    assert [(q.line_no, q.field) for q in quarantined[:2]] == [(2, "behavior"), (3, "record")]
    assert DAY in good["captured_at"]
