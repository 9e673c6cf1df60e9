"""Variants of the bare endpoint, to see where the platform's per-request time goes (bench/api_lookup.py)."""

from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware


@asynccontextmanager
async def four_threads(app):
    to_thread.current_default_thread_limiter().total_tokens = 4
    yield


threads4 = FastAPI(lifespan=four_threads)
session = FastAPI(lifespan=four_threads)
session.add_middleware(SessionMiddleware, secret_key="x" * 32)

for variant in (threads4, session):
    variant.add_api_route("/bare", lambda: {"status": "ok"}, methods=["GET"])
