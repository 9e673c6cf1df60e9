"""Enforcement's importable events: captures (`trafficgov import captures FILE.jsonl`)."""

from __future__ import annotations

from trafficgov.enforcement.service import MAX_BATCH, ingest_captures
from trafficgov.imports.kinds import EventIngest, register_ingest

register_ingest(EventIngest(name="captures", label_zh="非现场抓拍", ingest=ingest_captures, batch=MAX_BATCH))
