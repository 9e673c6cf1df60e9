"""信用监管 — credit and risk supervision: its inputs (violations, accidents, inspections, safety records, GPS alarms)."""
