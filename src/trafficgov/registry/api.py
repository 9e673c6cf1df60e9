"""JSON API of the registry under /api/v1: people, licences, vehicles, companies, my records, corrections."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from trafficgov.accounts.guard import STAFF, require
from trafficgov.accounts.model import Actor, Role
from trafficgov.apierrors import COMMON, responses
from trafficgov.registry import model as m
from trafficgov.registry import service

router = APIRouter(prefix="/api/v1", tags=["registry 登记"], responses={**COMMON, **responses(404)})

Purpose = Annotated[str | None, Query(description="查询事由 code (query_purposes table); required for staff", max_length=32)]
PERSON_ROLES = (*STAFF, Role.CITIZEN, Role.COMPANY)


def db(request: Request):
    return request.app.state.db


def json_response(model: BaseModel) -> Response:
    """The model as JSON, built once: the service already returns the documented response model,
    so FastAPI's second validation of it is skipped on the two busiest routes. Those two routes are
    `async` and call the store through `Database.run` (inline on SQLite: no hop to the thread pool)."""
    return Response(model.model_dump_json(), media_type="application/json")


@router.get("/people/{id_number}", response_model=m.PersonRecord, summary="一人一档：人员、驾驶证、车辆、从业")
def read_person(id_number: Annotated[str, Path(max_length=32)], request: Request, purpose: Purpose = None, actor: Actor = Depends(require(*PERSON_ROLES))) -> m.PersonRecord:
    return service.get_person(db(request), actor, id_number, purpose=purpose)


@router.get("/licences/{id_number}", response_model=m.LicenceView, summary="驾驶证及本周期记分")
def read_licence(id_number: Annotated[str, Path(max_length=32)], request: Request, purpose: Purpose = None, actor: Actor = Depends(require(*PERSON_ROLES))) -> m.LicenceView:
    return service.get_licence(db(request), actor, id_number, purpose=purpose)


@router.get("/vehicles", response_model=m.VehicleView, summary="按号牌号码和号牌种类查询机动车")
async def read_vehicle(
    request: Request,
    plate_number: Annotated[str, Query(max_length=16, description="号牌号码, e.g. 鲁A12345")],
    plate_type: Annotated[str, Query(max_length=2, description="号牌种类 (GA 24.7), e.g. 02")],
    purpose: Purpose = None,
    actor: Actor = Depends(require(*PERSON_ROLES)),
) -> Response:
    store = db(request)
    return json_response(await store.run(service.get_vehicle, store, actor, plate_number, plate_type, purpose=purpose))


@router.get("/vehicles/by-vin/{vin}", response_model=m.VehicleView, summary="按车辆识别代号查询机动车")
def read_vehicle_by_vin(vin: Annotated[str, Path(max_length=32)], request: Request, purpose: Purpose = None, actor: Actor = Depends(require(*PERSON_ROLES))) -> m.VehicleView:
    return service.get_vehicle_by_vin(db(request), actor, vin, purpose=purpose)


@router.get("/companies", response_model=list[m.CompanyView], summary="按名称检索企业")
def search_companies(request: Request, name: Annotated[str, Query(min_length=1, max_length=64)], actor: Actor = Depends(require(*STAFF, Role.PARTNER))) -> list[m.CompanyView]:
    return service.search_companies(db(request), actor, name)


@router.get("/companies/{uscc}", response_model=m.CompanyRecord, summary="按统一社会信用代码查询企业")
def read_company(uscc: Annotated[str, Path(max_length=32)], request: Request, purpose: Purpose = None, actor: Actor = Depends(require(*STAFF, Role.COMPANY, Role.PARTNER))) -> m.CompanyRecord:
    return service.get_company(db(request), actor, uscc, purpose=purpose)


@router.get("/me", response_model=m.MyRecords, summary="我的驾驶证、记分和车辆（群众）；本单位车辆和驾驶人（企业）")
async def read_my_records(request: Request, actor: Actor = Depends(require(Role.CITIZEN, Role.COMPANY))) -> Response:
    store = db(request)
    return json_response(await store.run(service.my_records, store, actor))


@router.get("/history/{entity}/{key}", response_model=list[m.HistoryView], summary="记录变更历史")
def read_history(entity: Annotated[str, Path(max_length=32)], key: Annotated[str, Path(max_length=64)], request: Request, actor: Actor = Depends(require(*STAFF, Role.CITIZEN))) -> list[m.HistoryView]:
    return service.get_history(db(request), actor, entity, key)


class CorrectionRequest(BaseModel):
    """更正申请."""

    field: str = Field(max_length=32, description="name, phone or address")
    requested_value: str = Field(max_length=256)
    reason: str = Field(max_length=1000)


class CorrectionDecision(BaseModel):
    approve: bool
    note: str = Field(default="", max_length=1000)


@router.post("/corrections", response_model=m.CorrectionView, status_code=201, summary="申请更正本人信息（个人信息保护法第四十六条）")
def create_correction(body: CorrectionRequest, request: Request, actor: Actor = Depends(require(Role.CITIZEN))) -> m.CorrectionView:
    return service.submit_correction(db(request), actor, body.field, body.requested_value, body.reason)


@router.get("/corrections", response_model=list[m.CorrectionView], summary="更正申请列表")
def read_corrections(request: Request, status: m.CorrectionStatus | None = None, actor: Actor = Depends(require(Role.CITIZEN, Role.CLERK, Role.SUPERVISOR, Role.ADMIN))) -> list[m.CorrectionView]:
    return service.list_corrections(db(request), actor, status)


@router.post("/corrections/{correction_id}/decision", response_model=m.CorrectionView, summary="处理更正申请")
def decide_correction(correction_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: CorrectionDecision, request: Request, actor: Actor = Depends(require(Role.CLERK, Role.ADMIN))) -> m.CorrectionView:
    return service.decide_correction(db(request), actor, correction_id, body.approve, body.note)
