"""导入导出 — CSV/JSONL import with validation, quarantine, history and progress; export of the same format."""
