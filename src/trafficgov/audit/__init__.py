"""审计 — append-only, hash-chained audit log of writes and personal-data reads, signed with an outside key."""
