"""证据可采性 — whether a capture may become a case, by its source's dated rule (APL Art. 41, ProcReg Arts. 15-18, 23).

Pure: the pipeline rules (data/pipeline.yaml), the Art. 22 erase reasons (data/erase_reasons.yaml) and
a function of plain values that says which requirement a capture fails, in Chinese and English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DATA = Path(__file__).parent / "data"
SOURCES = ("fixed_camera", "video_patrol", "drone", "mobile_device", "citizen_report")
Source = Literal["fixed_camera", "video_patrol", "drone", "mobile_device", "citizen_report"]
SOURCE_LABELS_ZH = {
    "fixed_camera": "固定式监控设备",
    "video_patrol": "视频巡逻",
    "drone": "无人机",
    "mobile_device": "移动式设备",
    "citizen_report": "群众举报",
}
DEVICE_SOURCES = ("fixed_camera", "video_patrol", "drone", "mobile_device")
Requirement = Literal[
    "device_registered",
    "device_kind_matches",
    "device_certified",
    "location_published",
    "operated_by_police",
    "vehicle_mounted_marked",
    "evidence_present",
]
REQUIREMENT_TEXT: dict[str, tuple[str, str]] = {
    "device_registered": ("抓拍设备未登记", "the capturing device is not registered"),
    "device_kind_matches": ("设备类型与抓拍来源不符", "the device's kind does not match the capture's source"),
    "device_certified": ("设备在抓拍日未经认定、检定或已过有效期", "the device was not certified on the capture date"),
    "location_published": ("设备设置地点在抓拍日前未向社会公布", "the device's location was not published by the capture date"),
    "operated_by_police": ("移动设备未由交通警察操作", "the mobile device was not operated by a traffic police officer"),
    "vehicle_mounted_marked": ("车载移动设备未使用制式警车", "the vehicle-mounted device was not in a marked police car"),
    "evidence_present": ("缺少证据材料（照片或视频及其哈希）", "no evidence item (uri and sha256)"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceRule(_Strict):
    requires: tuple[Requirement, ...]
    legal_basis: tuple[str, ...] = Field(min_length=1)
    note: str | None = None


class TimeLimit(_Strict):
    days: int = Field(ge=0)
    working: bool
    legal_basis: str


class OneAct(_Strict):
    window_minutes: int = Field(ge=0, le=24 * 60)
    legal_basis: str


class PipelineVersion(_Strict):
    """流程规则版本 — one dated version of the pipeline rules of a region."""

    version_id: str
    effective_from: date
    effective_to: date | None = None
    region: str = Field(pattern=r"^\d{6}$")
    admissibility: dict[Source, SourceRule]
    time_limits: dict[Literal["review", "notify", "handle", "erase"], TimeLimit]
    one_act: OneAct
    simple_procedure_max_fine_yuan: int = Field(ge=0)
    decision_number: str

    @model_validator(mode="after")
    def _complete(self) -> PipelineVersion:
        missing = set(SOURCES) - set(self.admissibility)
        if missing:
            raise ValueError(f"{self.version_id}: no admissibility rule for {sorted(missing)}")
        if len(self.time_limits) != 4:
            raise ValueError(f"{self.version_id}: time limits review, notify, handle, erase are all needed")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(f"{self.version_id}: effective_to before effective_from")
        return self

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class EraseReason(_Strict):
    code: str = Field(pattern=r"^[a-z_]+$")
    item: str
    label_zh: str
    note_required: bool = False


class _EraseFile(_Strict):
    effective_from: date
    legal_basis: dict[str, str]
    reasons: tuple[EraseReason, ...]


class PipelineRules:
    """All versions; `at(day)` is the version in force on a day."""

    def __init__(self, versions: list[PipelineVersion]) -> None:
        ordered = sorted(versions, key=lambda v: v.effective_from)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.effective_to is None or before.effective_to >= after.effective_from:
                raise ValueError(f"pipeline versions overlap: {before.version_id} and {after.version_id}")
        self.versions = ordered

    def at(self, day: date) -> PipelineVersion:
        for version in self.versions:
            if version.in_force(day):
                return version
        raise LookupError(f"no pipeline rules in force on {day.isoformat()}")


@cache
def pipeline_rules() -> PipelineRules:
    raw = yaml.safe_load((DATA / "pipeline.yaml").read_text(encoding="utf-8"))
    return PipelineRules([PipelineVersion.model_validate(v) for v in raw["versions"]])


@cache
def erase_reasons() -> dict[str, EraseReason]:
    raw = _EraseFile.model_validate(yaml.safe_load((DATA / "erase_reasons.yaml").read_text(encoding="utf-8")))
    return {r.code: r for r in raw.reasons}


@dataclass(frozen=True)
class Device:
    """交通技术监控设备 — what admissibility needs to know of a device."""

    device_id: str
    kind: str
    mount: str = "fixed"
    operated_by_police: bool = False
    marked_police_car: bool = False
    certified_until: date | None = None
    location_published_at: date | None = None


@dataclass(frozen=True)
class Verdict:
    """可采性结论 — admissible, or the first requirement failed with its reason."""

    admissible: bool
    requirement: str | None = None
    reason_zh: str | None = None
    reason_en: str | None = None
    legal_basis: tuple[str, ...] = ()


def _holds(requirement: str, source: str, device: Device | None, evidence_count: int, day: date) -> bool:
    # What a requirement reads of the evidence count, the device and the day must be in `Judge.situation`.
    if requirement == "evidence_present":
        return evidence_count > 0
    if device is None:
        return False
    if requirement == "device_registered":
        return True
    if requirement == "device_kind_matches":
        return device.kind == source
    if requirement == "device_certified":
        return device.certified_until is not None and day <= device.certified_until
    if requirement == "location_published":
        return device.location_published_at is not None and device.location_published_at <= day
    if requirement == "operated_by_police":
        return device.operated_by_police
    if requirement == "vehicle_mounted_marked":
        return device.mount != "vehicle" or device.marked_police_car
    raise ValueError(f"unknown requirement {requirement}")


def assess(source: str, device: Device | None, evidence_count: int, day: date, rules: PipelineVersion) -> Verdict:
    """The capture's verdict under the source's rule of the version in force on the capture day."""
    rule = rules.admissibility[source]  # type: ignore[index]
    for requirement in rule.requires:
        if not _holds(requirement, source, device, evidence_count, day):
            zh, en = REQUIREMENT_TEXT[requirement]
            return Verdict(False, requirement, zh, en, rule.legal_basis)
    return Verdict(True, legal_basis=rule.legal_basis)


class Judge:
    """可采性批量判定 — the verdicts of a batch of captures, each distinct situation judged once.

    A verdict depends on the source, the device, whether there is evidence, the rules version in force
    on the capture day and two dated facts of the device on that day (certified, location published):
    `situation` names exactly those, so that captures of one device on many days share a verdict.
    """

    def __init__(self, rules: PipelineRules, devices: Mapping[str, Device]) -> None:
        self.rules, self.devices = rules, devices
        self._versions: dict[date, PipelineVersion] = {}
        self._verdicts: dict[tuple, Verdict] = {}

    def version(self, day: date) -> PipelineVersion:
        """The rules version in force on a day (looked up once per day)."""
        found = self._versions.get(day)
        if found is None:
            found = self._versions[day] = self.rules.at(day)
        return found

    def situation(self, source: str, device_id: str | None, evidence_count: int, day: date) -> tuple:
        """All a capture's verdict depends on, as a key."""
        device = self.devices.get(device_id) if device_id else None
        version = self.version(day).version_id
        if device is None:
            return (source, None, evidence_count > 0, version, False, False)
        certified, published = device.certified_until, device.location_published_at
        return (source, device_id, evidence_count > 0, version, certified is not None and day <= certified, published is not None and published <= day)

    def verdict(self, situation: tuple, evidence_count: int, day: date) -> Verdict:
        """The verdict of a situation (`situation(...)` of a capture with this evidence count and day)."""
        found = self._verdicts.get(situation)
        if found is None:
            source, device_id = situation[0], situation[1]
            device = self.devices.get(device_id) if device_id else None
            found = self._verdicts[situation] = assess(source, device, evidence_count, day, self.version(day))
        return found
