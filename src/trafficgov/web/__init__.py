"""网站 — the FastAPI application: JSON API under /api/v1 and Chinese pages."""
