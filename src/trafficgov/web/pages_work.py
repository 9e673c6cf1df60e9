"""Back-office pages: 数据导入 (upload, job progress, quarantine) and 更正申请 (the clerk decides)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.errors import FieldError
from trafficgov.imports import service as imports
from trafficgov.imports.api import start_upload
from trafficgov.imports.kinds import all_kinds
from trafficgov.registry import service as registry
from trafficgov.registry.model import CorrectionStatus
from trafficgov.web.pages_common import PageRoute, mask_text, render
from trafficgov.web.pages_me import FIELD_LABELS

router = APIRouter(include_in_schema=False, route_class=PageRoute)

IMPORTERS = (Role.ADMIN, Role.CLERK)
IMPORT_READERS = (*IMPORTERS, Role.SUPERVISOR)
ENCODINGS = (("utf-8", "UTF-8"), ("gb18030", "GB18030（含GBK、GB2312）"))
STATUS_LABELS = {"queued": "排队中", "running": "导入中", "done": "已完成", "failed": "失败"}
QUARANTINE_SHOWN = 500


def _kinds() -> list[tuple[str, str]]:
    return [(name, kind.label_zh) for name, kind in all_kinds().items()]


def _imports_page(request: Request, actor: Actor, status_code: int = 200, **context):
    jobs = imports.list_jobs(request.app.state.db)
    return render(
        request,
        "imports.html",
        actor,
        status_code=status_code,
        jobs=jobs,
        kinds=_kinds(),
        kind_labels=dict(_kinds()),
        encodings=ENCODINGS,
        status_labels=STATUS_LABELS,
        may_upload=actor.role in IMPORTERS,
        limit_mb=request.app.state.settings.max_upload_bytes // (1024 * 1024),
        **context,
    )


@router.get("/imports", response_class=HTMLResponse)
def imports_page(request: Request, actor: Actor = Depends(require(*IMPORT_READERS, page=True))):
    return _imports_page(request, actor)


@router.post("/imports", response_class=HTMLResponse)
def upload_file(
    request: Request,
    file: UploadFile,
    kind: Annotated[str, Form(max_length=32)],
    encoding: Annotated[str, Form(max_length=16)] = "utf-8",
    actor: Actor = Depends(require(*IMPORTERS, page=True)),
):
    try:
        if kind not in all_kinds():
            raise FieldError("kind", f"未知的导入类型：{kind}", f"unknown kind {kind!r}")
        if not file.filename:
            raise FieldError("file", "请选择要上传的文件", "choose a file to upload")
        job_id = start_upload(request, kind, file, encoding, actor)
    except FieldError as error:
        return _imports_page(
            request, actor, status_code=422, error=error.zh, chosen={"kind": kind, "encoding": encoding}
        )
    except HTTPException as exc:
        reason = exc.detail.get("reason_zh") if isinstance(exc.detail, dict) else str(exc.detail)
        return _imports_page(
            request,
            actor,
            status_code=exc.status_code,
            error=reason,
            chosen={"kind": kind, "encoding": encoding},
        )
    return RedirectResponse(f"/imports/{job_id}", status_code=303)


def _job_context(request: Request, job_id: int) -> dict:
    job = imports.get_job(request.app.state.db, job_id)
    percent = (
        100
        if job.status == "done"
        else (min(100, round(job.bytes_done * 100 / job.size_bytes)) if job.size_bytes else 0)
    )
    return {
        "job": job,
        "percent": percent,
        "running": job.status in ("queued", "running"),
        "status_labels": STATUS_LABELS,
        "kind_labels": dict(_kinds()),
    }


@router.get("/imports/{job_id}", response_class=HTMLResponse)
def job_page(
    request: Request,
    job_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    actor: Actor = Depends(require(*IMPORT_READERS, page=True)),
):
    context = _job_context(request, job_id)
    rows = imports.list_quarantine(request.app.state.db, job_id, limit=QUARANTINE_SHOWN)
    quarantine = [
        {
            "line_no": q.line_no,
            "field": q.field,
            "reason_zh": q.reason_zh,
            "reason_en": q.reason_en,
            "raw": mask_text(actor, q.raw),
        }
        for q in rows
    ]
    return render(request, "import_job.html", actor, quarantine=quarantine, shown=QUARANTINE_SHOWN, **context)


@router.get("/imports/{job_id}/progress", response_class=HTMLResponse)
def job_progress(
    request: Request,
    job_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    actor: Actor = Depends(require(*IMPORT_READERS, page=True)),
):
    """The progress fragment htmx polls every second while the job is queued or running."""
    context = _job_context(request, job_id)
    # When a polled job has just finished, reload the whole page so its counts and quarantine appear.
    headers = {"HX-Refresh": "true"} if request.headers.get("HX-Request") and not context["running"] else None
    return render(request, "parts/job_progress.html", actor, headers=headers, **context)


# ---------------------------------------------------------------- corrections


CORRECTION_READERS = (Role.CLERK, Role.ADMIN, Role.SUPERVISOR)
CORRECTION_DECIDERS = (Role.CLERK, Role.ADMIN)


def _corrections_page(request: Request, actor: Actor, status: str, status_code: int = 200, **context):
    wanted = status if status in {s.value for s in CorrectionStatus} else None
    items = registry.list_corrections(request.app.state.db, actor, wanted)
    return render(
        request,
        "corrections.html",
        actor,
        status_code=status_code,
        items=items,
        status=wanted or "all",
        field_labels=FIELD_LABELS,
        may_decide=actor.role in CORRECTION_DECIDERS,
        tabs=[("pending", "待处理"), ("approved", "已更正"), ("rejected", "不予更正"), ("all", "全部")],
        **context,
    )


@router.get("/corrections", response_class=HTMLResponse)
def corrections_page(
    request: Request,
    status: str = "pending",
    done: int | None = None,
    actor: Actor = Depends(require(*CORRECTION_READERS, page=True)),
):
    return _corrections_page(request, actor, status, done=done)


@router.post("/corrections/{correction_id}/decision", response_class=HTMLResponse)
def decide(
    request: Request,
    correction_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    decision: Annotated[str, Form(pattern="^(approve|reject)$")],
    note: Annotated[str, Form(max_length=1000)] = "",
    actor: Actor = Depends(require(*CORRECTION_DECIDERS, page=True)),
):
    try:
        registry.decide_correction(request.app.state.db, actor, correction_id, decision == "approve", note)
    except FieldError as error:
        return _corrections_page(
            request, actor, "pending", status_code=422, error=error.zh, error_id=correction_id, note=note
        )
    return RedirectResponse(f"/corrections?done={correction_id}", status_code=303)
