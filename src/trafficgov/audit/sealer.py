"""Seal the audit chain's head at intervals while the web app runs (and record the seal outside the DB)."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

from trafficgov.audit import service
from trafficgov.store.db import Database

log = logging.getLogger(__name__)


def seal_if_new(db: Database, key: bytes, witness: Path, every: int = 1) -> bool:
    """Sign the head if at least `every` entries came since the last seal; returns whether it did."""
    with db.transaction(write=True) as session:
        checkpoint = service.maybe_seal(session, key, datetime.now(UTC), every=every)
    if checkpoint is not None:
        service.write_witness(witness, checkpoint)
    return checkpoint is not None


class PeriodicSealer:
    """A daemon thread that seals every `interval` seconds until stopped."""

    def __init__(self, db: Database, key: bytes, witness: Path, interval: float = 60.0) -> None:
        self.db, self.key, self.witness, self.interval = db, key, witness, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._seal()  # what came since the last tick

    def _seal(self) -> None:
        try:
            seal_if_new(self.db, self.key, self.witness)
        except Exception:  # a failed seal must not stop the app; verify reports the unsealed tail
            log.exception("audit seal failed")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._seal()
