"""综合查询 — staff find a person, a vehicle or a company; record pages open only with a stated purpose.

Every read of a record is audited by the registry service with the purpose (查询事由) the officer
chose; a page asked without one shows the purpose form instead of the record.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from trafficgov.accounts.guard import STAFF, require
from trafficgov.accounts.model import Actor, Role
from trafficgov.errors import FieldError
from trafficgov.registry import service
from trafficgov.registry.codetables import code_tables
from trafficgov.registry.identifiers import is_uscc, normalise, parse_id_number, validate_uscc, validate_vin
from trafficgov.registry.plates import normalise_plate
from trafficgov.registry.rows import holder_id
from trafficgov.web.pages_common import PageRoute, mask_text, purposes, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

PERSON_PAGE_ROLES = (*STAFF, Role.CITIZEN, Role.COMPANY)
DEFAULT_PLATE_TYPE = "02"
Purpose = Annotated[str | None, Query(max_length=32)]

_ID_LIKE = re.compile(r"^(?:[0-9]{17}[0-9X]|[0-9]{15})$")
_VIN_LIKE = re.compile(r"^[A-Z0-9]{17}$")
# A plate: a province (or 使) and 5-7 letters and digits, perhaps a closing character (挂, 学, 警 …);
# anything else that starts with a province name (鲁南运输) is looked up as a company name.
_PLATE_LIKE = re.compile(r"^\S[A-Z0-9]{5,7}[挂学警港澳领使试超]?$")


def plate_types() -> list[tuple[str, str]]:
    return [(code, entry.label_zh) for code, entry in code_tables().plate_types.items()]


def known_purpose(purpose: str | None) -> str | None:
    return purpose if purpose and purpose in code_tables().query_purposes else None


def classify(query: str) -> tuple[str, str]:
    """What a search box entry is: ("person", id), ("company", uscc), ("vin", vin), ("plate", plate) or ("name", text).

    FieldError when it has the shape of an identifier but is not a valid one (a wrong check digit).
    """
    text = normalise(query)
    if _ID_LIKE.match(text):
        try:
            return "person", parse_id_number(text, "q").number
        except FieldError:
            if not is_uscc(text):
                raise
    if len(text) == 18 and is_uscc(text):
        return "company", validate_uscc(text, "q")
    if _VIN_LIKE.match(text) and not text.isdigit():
        return "vin", validate_vin(text, "q")
    plate = normalise_plate(query)
    if _PLATE_LIKE.match(plate) and (plate[0] in code_tables().provinces or plate[0] == "使"):
        return "plate", plate
    return "name", query.strip()


def record_url(kind: str, key: str, purpose: str | None, plate_type: str = DEFAULT_PLATE_TYPE) -> str:
    path = {
        "person": f"/people/{quote(key)}",
        "company": f"/companies/{quote(key)}",
        "vin": f"/vehicles/by-vin/{quote(key)}",
        "plate": f"/vehicles/{quote(plate_type)}/{quote(key)}",
    }[kind]
    return f"{path}?{urlencode({'purpose': purpose})}" if purpose else path


def ask_purpose(request: Request, actor: Actor, what: str, key: str, purpose: str | None):
    """The purpose form in place of a record: the officer states why before anything is read.

    `purpose` is what the request carried: none yet, or a code that is not in the table (an error)."""
    return render(
        request,
        "purpose.html",
        actor,
        what=what,
        key=mask_text(actor, key),
        action=request.url.path,
        purposes=purposes(),
        error="所选查询事由无效" if purpose else None,
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: Annotated[str, Query(max_length=64)] = "",
    plate_type: Annotated[str, Query(max_length=2)] = DEFAULT_PLATE_TYPE,
    purpose: Purpose = None,
    actor: Actor = Depends(require(*STAFF, page=True)),
):
    context = {
        "q": q,
        "plate_type": plate_type,
        "purpose": purpose,
        "plate_types": plate_types(),
        "purposes": purposes(),
    }
    if not q.strip():
        return render(request, "search.html", actor, **context)
    try:
        kind, key = classify(q)
    except FieldError as error:
        return render(request, "search.html", actor, status_code=422, error=error.zh, **context)
    if kind == "name":
        companies = service.search_companies(request.app.state.db, actor, key)
        return render(request, "search.html", actor, companies=companies, searched=True, **context)
    if not known_purpose(purpose):
        return render(
            request,
            "search.html",
            actor,
            error="查阅人员、车辆、企业记录前，请先选择查询事由。",
            need_purpose=True,
            **context,
        )
    if kind == "plate" and plate_type not in code_tables().plate_types:
        return render(
            request, "search.html", actor, status_code=422, error=f"号牌种类代码无效：{plate_type}", **context
        )
    return RedirectResponse(record_url(kind, key, purpose, plate_type), status_code=303)


@router.get("/people/{id_number}", response_class=HTMLResponse)
def person_page(
    request: Request,
    id_number: Annotated[str, Path(max_length=32)],
    purpose: Purpose = None,
    actor: Actor = Depends(require(*PERSON_PAGE_ROLES, page=True)),
):
    if actor.is_staff and not known_purpose(purpose):
        return ask_purpose(request, actor, "人员（一人一档）", id_number, purpose)
    record = service.get_person(request.app.state.db, actor, id_number, purpose=purpose)
    return render(request, "person.html", actor, record=record, purpose=purpose, key=id_number)


@router.get("/people/{id_number}/history", response_class=HTMLResponse)
def person_history_page(
    request: Request,
    id_number: Annotated[str, Path(max_length=32)],
    purpose: Purpose = None,
    actor: Actor = Depends(require(*STAFF, page=True)),
):
    if not known_purpose(purpose):
        return ask_purpose(request, actor, "人员信息变更历史", id_number, purpose)
    db = request.app.state.db
    # The history service does not audit; opening the person first records the read with its purpose.
    record = service.get_person(db, actor, id_number, purpose=purpose)
    key = holder_id({"id_number": id_number})
    entries = []
    for entity, label in (("people", "人员信息"), ("licences", "驾驶证")):
        for item in service.get_history(db, actor, entity, key):
            entries.append(
                {
                    "entity": label,
                    "changed_at": item.changed_at,
                    "actor": item.actor,
                    "source": item.source,
                    "changes": [
                        (
                            name,
                            mask_text(actor, _text(item.old_values.get(name))),
                            mask_text(actor, _text(item.new_values.get(name))),
                        )
                        for name in sorted(set(item.old_values) | set(item.new_values))
                    ],
                }
            )
    entries.sort(key=lambda e: e["changed_at"], reverse=True)
    return render(
        request, "history.html", actor, record=record, entries=entries, purpose=purpose, key=id_number
    )


def _text(value: object) -> str:
    return "—" if value is None or value == "" else str(value)


@router.get("/vehicles/by-vin/{vin}", response_class=HTMLResponse)
def vehicle_by_vin_page(
    request: Request,
    vin: Annotated[str, Path(max_length=32)],
    purpose: Purpose = None,
    actor: Actor = Depends(require(*PERSON_PAGE_ROLES, page=True)),
):
    if actor.is_staff and not known_purpose(purpose):
        return ask_purpose(request, actor, "机动车（车辆识别代号）", vin, purpose)
    vehicle = service.get_vehicle_by_vin(request.app.state.db, actor, vin, purpose=purpose)
    return render(
        request,
        "vehicle.html",
        actor,
        v=vehicle,
        purpose=purpose,
        owner_link=_owner_link(actor, vehicle.owner_id, purpose),
    )


@router.get("/vehicles/{plate_type}/{plate_number}", response_class=HTMLResponse)
def vehicle_page(
    request: Request,
    plate_type: Annotated[str, Path(max_length=2)],
    plate_number: Annotated[str, Path(max_length=16)],
    purpose: Purpose = None,
    actor: Actor = Depends(require(*PERSON_PAGE_ROLES, page=True)),
):
    if actor.is_staff and not known_purpose(purpose):
        label = code_tables().label("plate_types", plate_type)
        return ask_purpose(request, actor, f"机动车（{label}）", plate_number, purpose)
    vehicle = service.get_vehicle(request.app.state.db, actor, plate_number, plate_type, purpose=purpose)
    return render(
        request,
        "vehicle.html",
        actor,
        v=vehicle,
        purpose=purpose,
        owner_link=_owner_link(actor, vehicle.owner_id, purpose),
    )


def _owner_link(actor: Actor, owner_id: str | None, purpose: str | None) -> str | None:
    """A link to the owner's record where the viewer may follow it (never from a masked number)."""
    if not owner_id or "*" in owner_id:
        return None
    if len(owner_id) == 18 and not owner_id[:17].isdigit():
        if actor.is_staff or actor.uscc == owner_id:
            return record_url("company", owner_id, purpose)
        return None
    if actor.is_staff or actor.id_number == owner_id:
        return record_url("person", owner_id, purpose)
    return None


@router.get("/companies/{uscc}", response_class=HTMLResponse)
def company_page(
    request: Request,
    uscc: Annotated[str, Path(max_length=32)],
    purpose: Purpose = None,
    actor: Actor = Depends(require(*STAFF, Role.COMPANY, page=True)),
):
    if actor.is_staff and not known_purpose(purpose):
        return ask_purpose(request, actor, "企业", uscc, purpose)
    record = service.get_company(request.app.state.db, actor, uscc, purpose=purpose)
    return render(request, "company.html", actor, record=record, purpose=purpose)
