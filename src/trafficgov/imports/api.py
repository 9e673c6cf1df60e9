"""JSON API of imports: upload a file of a kind (size-limited), follow the job, read its quarantine."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request, UploadFile

from trafficgov.accounts.guard import require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON, responses
from trafficgov.imports import service
from trafficgov.imports.reader import detect_format, python_encoding

router = APIRouter(prefix="/api/v1/imports", tags=["imports 导入"], responses={**COMMON, **responses(404)})
IMPORTERS = (Role.ADMIN, Role.CLERK)


def start_upload(request: Request, kind: str, upload: UploadFile, encoding: str, actor: Actor) -> int:
    """Save the upload under var/uploads (refusing it past the size limit) and start its job in a thread."""
    settings = request.app.state.settings
    db = request.app.state.db
    limit = settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise HTTPException(413, {"reason_zh": f"文件超过{limit // (1024 * 1024)}MB上限", "reason_en": f"upload exceeds the {limit} byte limit"})
    filename = (upload.filename or "upload.csv").replace("/", "_").replace("\\", "_")[-200:]
    detect_format(filename)
    python_encoding(encoding)
    folder = settings.var_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}-{filename}"
    size = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if size > limit:
                out.close()
                path.unlink(missing_ok=True)
                raise HTTPException(413, {"reason_zh": f"文件超过{limit // (1024 * 1024)}MB上限", "reason_en": f"upload exceeds the {limit} byte limit"})
            out.write(chunk)
    job_id = service.create_job(db, kind, filename, actor, size_bytes=size, encoding=encoding, at=datetime.now(UTC))

    def work() -> None:
        try:
            service.run_job(db, job_id, path, actor)
        except Exception:  # the job row records the failure; the thread must not die noisily
            pass
        finally:
            path.unlink(missing_ok=True)

    thread = threading.Thread(target=work, name=f"import-{job_id}", daemon=True)
    thread.start()
    if request.app.state.settings.argon2_profile == "test":  # tests read the result straight away
        thread.join()
    return job_id


@router.post("/{kind}", response_model=service.JobView, status_code=202, summary="上传导入文件（CSV或JSONL）", responses=responses(413))
def upload(
    kind: Annotated[str, Path(max_length=32)],
    request: Request,
    file: UploadFile,
    encoding: Annotated[str, Form(max_length=16)] = "utf-8",
    actor: Actor = Depends(require(*IMPORTERS)),
) -> service.JobView:
    from trafficgov.imports.kinds import get_kind

    get_kind(kind)
    job_id = start_upload(request, kind, file, encoding, actor)
    return service.get_job(request.app.state.db, job_id)


@router.get("/jobs", response_model=list[service.JobView], summary="导入任务列表")
def jobs(request: Request, actor: Actor = Depends(require(*IMPORTERS, Role.SUPERVISOR))) -> list[service.JobView]:
    return service.list_jobs(request.app.state.db)


@router.get("/jobs/{job_id}", response_model=service.JobView, summary="导入任务进度")
def job(job_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request, actor: Actor = Depends(require(*IMPORTERS, Role.SUPERVISOR))) -> service.JobView:
    return service.get_job(request.app.state.db, job_id)


@router.get("/jobs/{job_id}/quarantine", response_model=list[service.QuarantineView], summary="隔离记录及原因")
def quarantine(
    job_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    actor: Actor = Depends(require(*IMPORTERS, Role.SUPERVISOR)),
) -> list[service.QuarantineView]:
    return service.list_quarantine(request.app.state.db, job_id, limit=limit, offset=offset)


