"""The export format of the audit log (CSV or JSON Lines), shared by the CLI and the API."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from trafficgov.audit.model import AuditRecord

EXPORT_COLUMNS = (
    "seq", "at", "actor", "role", "unit", "action", "action_zh", "entity", "record_key", "purpose",
    "detail", "prev_hash", "hash",
)


def export_row(record: AuditRecord) -> dict:
    data = record.as_dict()
    data["action_zh"] = record.action_zh
    data["detail"] = json.dumps(record.detail, ensure_ascii=False, sort_keys=True)
    return {column: data[column] for column in EXPORT_COLUMNS}


def jsonl_line(record: AuditRecord) -> str:
    return json.dumps({**record.as_dict(), "action_zh": record.action_zh}, ensure_ascii=False) + "\n"


def csv_chunks(records: Iterable[AuditRecord], flush_bytes: int = 1 << 16) -> Iterator[str]:
    """CSV text with a header row, yielded in pieces of about `flush_bytes` (for streaming)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(export_row(record))
        if buffer.tell() > flush_bytes:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
