"""数据共享 — the catalogue of shareable datasets, grants by department, purpose and field, and the checks
that decide what a partner department may read (pure: no web, no database).

A read is allowed only under a grant that the dataset's owner approved, for this consumer, this dataset and
this purpose, on a day between its start and its expiry; the answer holds only the granted fields. Everything
else is refused with a stable code and a reason in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from trafficgov.credit.grade import Based, Value, at_version, check_no_overlap, parse_versions
from trafficgov.errors import FieldError
from trafficgov.hub.model import DEPARTMENT_LABELS_ZH

CATALOGUE_FILE = Path(__file__).with_name("data") / "sharing.yaml"

SUBJECT_LABELS_ZH = {
    "vehicle": "机动车（号牌号码:号牌种类，如 鲁A12345:02）",
    "person": "自然人（公民身份号码）",
    "company": "企业（统一社会信用代码）",
}
GRANT_STATUS_LABELS_ZH = {"requested": "待审批", "approved": "已批准", "refused": "不予批准", "revoked": "已撤销"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CatalogueError(ValueError):
    """共享目录错误 — the catalogue file must not be loaded; names the version and the row."""


class Purpose(Based):
    """共享用途 — what a department may read data for, with its legal basis."""

    code: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]{1,47}$")
    label_zh: StrictStr = Field(min_length=1)
    investigation: bool = False  # a read for an open investigation is shown to the person once it closes


class DatasetField(_Strict):
    name: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    label_zh: StrictStr = Field(min_length=1)
    type: Literal["text", "date", "int", "bool"] = "text"
    personal: bool = False  # 个人信息: shown on the person's "who read my data" page


class HubReader(_Strict):
    """Where a dataset held in another department's system is read: the hub's records of `hub_kind` whose
    fields equal the subject's (`match`: standard field -> subject part), the one latest by `latest`;
    `in_force` [from, to] adds a derived field `in_force` (the read's day lies within them)."""

    hub_kind: StrictStr
    match: dict[StrictStr, Literal["plate_number", "plate_type", "id_number", "uscc"]] = Field(min_length=1)
    latest: StrictStr
    in_force: tuple[StrictStr, StrictStr] | None = None


class Dataset(_Strict):
    """共享数据集 — one shareable dataset or service, its owner department, subject key and fields; read from the
    registry, or (`reader`) from the hub's copy of the owner's own system."""

    code: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]{1,47}$")
    label_zh: StrictStr = Field(min_length=1)
    owner: StrictStr
    subject: Literal["vehicle", "person", "company"]
    description_zh: StrictStr = Field(min_length=1)
    reader: HubReader | None = None
    fields: list[DatasetField] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Dataset:
        if self.owner not in DEPARTMENT_LABELS_ZH:
            raise ValueError(f"unknown owner department {self.owner!r}")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"dataset {self.code}: a field is listed twice")
        if self.reader is not None:
            from trafficgov.hub.standard import standard

            kind = standard().kinds.get(self.reader.hub_kind)
            if kind is None:
                raise ValueError(f"dataset {self.code}: unknown hub kind {self.reader.hub_kind!r}")
            derived = {"in_force"} if self.reader.in_force else set()
            needed = {*self.reader.match, self.reader.latest, *(self.reader.in_force or ()), *(set(names) - derived)}
            unknown = needed - set(kind.fields)
            if unknown:
                raise ValueError(f"dataset {self.code}: {self.reader.hub_kind} has no fields {sorted(unknown)}")
        return self

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def owner_zh(self) -> str:
        return DEPARTMENT_LABELS_ZH[self.owner]

    def label_of(self, field: str) -> str:
        return next((f.label_zh for f in self.fields if f.name == field), field)


class CatalogueVersion(_Strict):
    version_id: StrictStr = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    max_grant_days: Value
    purposes: list[Purpose] = Field(min_length=1)
    datasets: list[Dataset] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CatalogueVersion:
        for what, codes in (("purpose", [p.code for p in self.purposes]), ("dataset", [d.code for d in self.datasets])):
            if len(set(codes)) != len(codes):
                raise ValueError(f"a {what} code is listed twice")
        return self

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def dataset(self, code: str) -> Dataset | None:
        return next((d for d in self.datasets if d.code == code), None)

    def purpose(self, code: str) -> Purpose | None:
        return next((p for p in self.purposes if p.code == code), None)


class Catalogue:
    """共享目录 — every dated version; `at(day)` answers which is in force."""

    def __init__(self, versions: list[CatalogueVersion]) -> None:
        self.versions = versions

    def at(self, day: date) -> CatalogueVersion:
        return at_version(self.versions, day, None, "共享目录")


def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    versions = parse_versions(raw, CatalogueVersion, path.name, CatalogueError)
    return Catalogue(check_no_overlap(versions, path.name, CatalogueError))


@cache
def catalogue() -> Catalogue:
    return load_catalogue()


# ---------------------------------------------------------------- grants and the access check


@dataclass(frozen=True)
class Grant:
    """共享授权 — consumer department, dataset, purpose, fields, legal basis, period and status."""

    id: int
    dataset: str
    consumer: str  # the consumer department's organisation code
    purpose: str
    fields: tuple[str, ...]
    legal_basis: str
    valid_from: date
    expires_on: date
    status: str

    def active_on(self, day: date) -> bool:
        return self.status == "approved" and self.valid_from <= day <= self.expires_on


@dataclass(frozen=True)
class Refusal:
    """拒绝 — why a read is refused: a stable code and the reason in Chinese and English."""

    code: str
    reason_zh: str
    reason_en: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "reason_zh": self.reason_zh, "reason_en": self.reason_en}


def check_access(version: CatalogueVersion, dataset_code: str, purpose_code: str, consumer: str | None, grants: list[Grant], day: date,
                 case_ref: str | None = None) -> Grant | Refusal:
    """The grant a read rests on, or why it is refused. `grants` are the consumer's grants of any status; a read for
    an investigation purpose names its case (`case_ref`)."""
    dataset = version.dataset(dataset_code)
    if dataset is None:
        return Refusal("unknown_dataset", f"共享目录中没有数据集：{dataset_code}", f"no dataset {dataset_code!r} in the catalogue")
    purpose = version.purpose(purpose_code)
    if purpose is None:
        return Refusal("unknown_purpose", f"未登记的共享用途：{purpose_code}", f"unknown purpose {purpose_code!r}")
    if not consumer:
        return Refusal("no_department", "账户不属于任何协作部门", "the account belongs to no department")
    mine = [g for g in grants if g.consumer == consumer and g.dataset == dataset_code]
    if not mine:
        return Refusal("no_grant", f"本部门未获得“{dataset.label_zh}”的共享授权", f"your department holds no grant for {dataset_code}")
    for_purpose = [g for g in mine if g.purpose == purpose_code]
    if not for_purpose:
        return Refusal("purpose_not_granted", f"授权不包括此用途：{purpose_code}", f"no grant for {dataset_code} covers purpose {purpose_code!r}")
    active = [g for g in for_purpose if g.active_on(day)]
    if active:
        if purpose.investigation and not (case_ref or "").strip():
            return Refusal("case_required", "调查用途须注明案件编号（case）", "an investigation purpose needs the case reference (case)")
        return max(active, key=lambda g: g.id)
    if any(g.status == "approved" and day > g.expires_on for g in for_purpose):
        return Refusal("grant_expired", "共享授权已过期，请重新申请", "the grant has expired")
    if any(g.status == "approved" and day < g.valid_from for g in for_purpose):
        return Refusal("grant_not_started", "共享授权尚未生效", "the grant has not started yet")
    if any(g.status == "revoked" for g in for_purpose):
        return Refusal("grant_revoked", "共享授权已被撤销", "the grant was revoked")
    if any(g.status == "requested" for g in for_purpose):
        return Refusal("grant_pending", "共享授权尚待数据所有部门批准", "the grant waits for the owner's approval")
    return Refusal("grant_refused", "共享申请未获批准", "the grant request was refused")


def project(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Only the granted fields of a record, in the grant's order."""
    return {name: record.get(name) for name in fields}


def validate_request(version: CatalogueVersion, dataset_code: str, purpose_code: str, fields: list[str], legal_basis: str, valid_from: date, expires_on: date) -> tuple[str, ...]:
    """Check a grant request against the catalogue; the fields in the catalogue's order."""
    dataset = version.dataset(dataset_code)
    if dataset is None:
        raise FieldError("dataset", f"共享目录中没有数据集：{dataset_code}", f"no dataset {dataset_code!r} in the catalogue")
    if version.purpose(purpose_code) is None:
        raise FieldError("purpose", f"未登记的共享用途：{purpose_code}", f"unknown purpose {purpose_code!r}")
    if not fields:
        raise FieldError("fields", "至少申请一个字段", "ask for at least one field")
    unknown = [f for f in fields if f not in dataset.field_names]
    if unknown:
        raise FieldError("fields", f"数据集“{dataset.label_zh}”没有字段：{'、'.join(unknown)}", f"unknown fields: {', '.join(unknown)}")
    if not legal_basis.strip():
        raise FieldError("legal_basis", "须写明依据的法律法规条款", "state the legal basis")
    if expires_on < valid_from:
        raise FieldError("expires_on", "到期日不能早于生效日", "the expiry is before the start")
    longest = int(version.max_grant_days.value)
    if (expires_on - valid_from).days > longest:
        raise FieldError("expires_on", f"授权期限不得超过{longest}天", f"a grant may run at most {longest} days")
    return tuple(f for f in dataset.field_names if f in set(fields))


def visible_to_subject(investigation: bool, case_ref: str | None, closed_cases: set[tuple[str, str]], consumer: str) -> bool:
    """数据查询记录 shown to the person: a read for an open investigation only once that case is closed."""
    if not investigation:
        return True
    return case_ref is not None and (consumer, case_ref) in closed_cases
