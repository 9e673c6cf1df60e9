"""The FastAPI application: mounts every context's API and pages, maps domain errors to answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from trafficgov import __version__
from trafficgov.accounts.guard import PageLoginRequired
from trafficgov.accounts.policy import policy
from trafficgov.accounts.ratelimit import LoginLimiter
from trafficgov.config import Settings, read_or_create_key
from trafficgov.errors import Conflict, FieldError, Forbidden, NotFound
from trafficgov.registry.codetables import code_tables
from trafficgov.store.db import Database

HERE = Path(__file__).parent


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    # Load and validate the rule and code-table files now: the platform refuses to start on an invalid one.
    code_tables()
    policy()
    from trafficgov.hub.data_files import load_all

    load_all()
    db = db or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from anyio import to_thread

        # Few worker threads: the work is CPU-bound Python under one GIL, and 40 threads (anyio's
        # default) mostly queue for the GIL and starve the event loop (see docs/benchmarks.md).
        to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        from trafficgov.audit.cli import witness_path
        from trafficgov.audit.sealer import PeriodicSealer

        sealer = PeriodicSealer(db, read_or_create_key(settings.audit_key_file), witness_path(settings), settings.audit_seal_seconds)
        sealer.start()
        try:
            yield
        finally:
            sealer.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="trafficgov 公安交管“放管服”平台",
        version=__version__,
        description="智慧交通数据大脑、信用监管、非现场执法、一件事一次办 — JSON API (zh-CN messages with English).",
        openapi_tags=[{"name": "registry 登记"}, {"name": "imports 导入"}, {"name": "accounts 账户"}, {"name": "audit 审计"}, {"name": "enforcement 非现场执法"}, {"name": "credit 信用监管"}, {"name": "hub 数据共享"}],
    )
    app.state.settings = settings
    app.state.db = db
    app.state.token_key = read_or_create_key(settings.session_key_file)
    app.state.login_limiter = LoginLimiter()
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.add_middleware(SessionMiddleware, secret_key=app.state.token_key.hex(), session_cookie="tg_session", same_site="lax", https_only=False, max_age=8 * 3600)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    from trafficgov.accounts.api import router as accounts_api
    from trafficgov.audit.api import router as audit_api
    from trafficgov.credit.api import router as credit_api
    from trafficgov.credit.lists_api import router as credit_lists_api
    from trafficgov.credit.warnings_api import router as credit_warnings_api
    from trafficgov.enforcement.api import router as enforcement_api
    from trafficgov.enforcement.drivers_api import router as drivers_api
    from trafficgov.enforcement.oversight_api import router as oversight_api
    from trafficgov.enforcement.procedure_api import router as procedure_api
    from trafficgov.hub.golden_api import router as golden_api
    from trafficgov.hub.quality_api import router as quality_api
    from trafficgov.hub.sharing_api import router as sharing_api
    from trafficgov.imports.api import router as imports_api
    from trafficgov.registry.api import router as registry_api
    from trafficgov.web.pages import router as pages

    for router in (accounts_api, registry_api, imports_api, audit_api, enforcement_api, drivers_api, oversight_api, procedure_api, credit_api, credit_lists_api, credit_warnings_api, sharing_api, golden_api, quality_api, pages):
        app.include_router(router)

    def error(request: Request, status: int, detail: dict) -> JSONResponse:
        if _wants_html(request):
            return app.state.templates.TemplateResponse(request, "error.html", {"status": status, "detail": detail, "actor": getattr(request.state, "actor", None)}, status_code=status)
        return JSONResponse({"detail": detail}, status_code=status)

    @app.exception_handler(FieldError)
    async def field_error(request: Request, exc: FieldError):
        return error(request, 422, exc.as_dict())

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden):
        detail = {"reason_zh": exc.zh, "reason_en": exc.en}
        if exc.code:
            detail["code"] = exc.code
        return error(request, 403, detail)

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict):
        return error(request, 409, {"reason_zh": exc.zh, "reason_en": exc.en})

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        return error(request, 404, {"reason_zh": "未找到该记录", "reason_en": f"not found: {exc}"})

    @app.exception_handler(PageLoginRequired)
    async def login_required(request: Request, exc: PageLoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, dict) else {"reason_zh": str(exc.detail), "reason_en": str(exc.detail)}
        if _wants_html(request):
            return error(request, exc.status_code, detail)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {}
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        if any(e.get("type") == "json_invalid" for e in errors):
            return error(request, 400, {"reason_zh": "请求体不是合法的JSON", "reason_en": "request body is not valid JSON", "field": field})
        return error(request, 422, {"reason_zh": f"字段无效：{field}", "reason_en": f"invalid field {field}: {first.get('msg', '')}", "field": field})

    return app
