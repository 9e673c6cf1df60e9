"""Admissibility of a capture per source, from the dated pipeline rules (APL Art. 41, ProcReg Arts. 15-23)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trafficgov.enforcement.admissibility import (
    SOURCES,
    Device,
    Judge,
    PipelineRules,
    PipelineVersion,
    assess,
    erase_reasons,
    pipeline_rules,
)

DAY = date(2026, 6, 20)
RULES = pipeline_rules().at(DAY)
CAMERA = Device("C1", "fixed_camera", certified_until=date(2026, 12, 31), location_published_at=date(2020, 1, 1))


def test_certified_published_camera_with_evidence_is_admissible():
    assert assess("fixed_camera", CAMERA, 1, DAY, RULES).admissible


@pytest.mark.parametrize(
    ("device", "evidence", "requirement"),
    [
        (None, 1, "device_registered"),
        (Device("C1", "fixed_camera", certified_until=date(2026, 6, 19), location_published_at=date(2020, 1, 1)), 1, "device_certified"),
        (Device("C1", "fixed_camera", certified_until=date(2026, 12, 31), location_published_at=None), 1, "location_published"),
        (Device("C1", "fixed_camera", certified_until=date(2026, 12, 31), location_published_at=date(2026, 6, 21)), 1, "location_published"),
        (CAMERA, 0, "evidence_present"),
        (Device("M1", "mobile_device", certified_until=date(2026, 12, 31)), 1, "device_kind_matches"),
    ],
)
def test_fixed_camera_requirements_each_named(device, evidence, requirement):
    verdict = assess("fixed_camera", device, evidence, DAY, RULES)
    assert not verdict.admissible and verdict.requirement == requirement and verdict.reason_zh


def test_certification_valid_on_its_last_day():
    device = Device("C1", "fixed_camera", certified_until=DAY, location_published_at=DAY)
    assert assess("fixed_camera", device, 1, DAY, RULES).admissible


def test_mobile_devices_need_police_operators_and_marked_cars():
    handheld = Device("M1", "mobile_device", mount="handheld", operated_by_police=True, certified_until=date(2027, 1, 1))
    assert assess("mobile_device", handheld, 1, DAY, RULES).admissible
    civilian = Device("M2", "mobile_device", mount="handheld", operated_by_police=False, certified_until=date(2027, 1, 1))
    assert assess("mobile_device", civilian, 1, DAY, RULES).requirement == "operated_by_police"
    unmarked = Device("M3", "mobile_device", mount="vehicle", operated_by_police=True, marked_police_car=False, certified_until=date(2027, 1, 1))
    assert assess("mobile_device", unmarked, 1, DAY, RULES).requirement == "vehicle_mounted_marked"


def test_citizen_reports_need_evidence_only_before_review():
    assert assess("citizen_report", None, 1, DAY, RULES).admissible
    assert assess("citizen_report", None, 0, DAY, RULES).requirement == "evidence_present"


def test_time_limits_follow_procreg_article_81_working_days():
    assert RULES.time_limits["review"].working and RULES.time_limits["review"].days == 5
    assert RULES.time_limits["notify"].working
    assert not RULES.time_limits["handle"].working and RULES.time_limits["handle"].days == 30


def test_no_rules_before_the_first_version_and_overlaps_refused():
    with pytest.raises(LookupError):
        pipeline_rules().at(date(2019, 1, 1))
    raw = RULES.model_dump()
    first = PipelineVersion.model_validate({**raw, "version_id": "a", "effective_from": date(2021, 1, 1), "effective_to": None})
    second = PipelineVersion.model_validate({**raw, "version_id": "b", "effective_from": date(2022, 1, 1), "effective_to": None})
    with pytest.raises(ValueError):
        PipelineRules([first, second])


def test_erase_reasons_are_the_eight_items_of_article_22():
    reasons = erase_reasons()
    assert len(reasons) == 8 and reasons["other"].note_required
    assert all(r.label_zh for r in reasons.values())


# A batch judges each distinct situation once: the same verdict as `assess` of every capture.
DEVICES = {
    d.device_id: d
    for d in (
        CAMERA,
        Device("C-LAPSING", "fixed_camera", certified_until=date(2026, 6, 15), location_published_at=date(2026, 6, 10)),
        Device("C-UNPUBLISHED", "fixed_camera", certified_until=date(2027, 1, 1)),
        Device("P1", "video_patrol", certified_until=date(2026, 6, 25), location_published_at=date(2026, 6, 1)),
        Device("M1", "mobile_device", mount="vehicle", operated_by_police=True, marked_police_car=False, certified_until=date(2027, 1, 1)),
        Device("M2", "mobile_device", mount="handheld", operated_by_police=True, certified_until=date(2026, 6, 12)),
        Device("D1", "drone", operated_by_police=True, certified_until=date(2026, 6, 30)),
    )
}
captures_of_a_batch = st.lists(
    st.tuples(
        st.sampled_from(SOURCES),
        st.sampled_from([*DEVICES, "UNKNOWN", None]),
        st.integers(min_value=0, max_value=3),
        st.integers(min_value=0, max_value=40).map(lambda n: date(2026, 6, 1) + timedelta(days=n)),
    ),
    max_size=60,
)


@given(captures_of_a_batch)
def test_a_batch_judge_gives_each_capture_the_verdict_assess_gives(captures):
    judge = Judge(pipeline_rules(), DEVICES)
    for source, device_id, evidence, day in captures:
        device = DEVICES.get(device_id) if device_id else None
        expected = assess(source, device, evidence, day, pipeline_rules().at(day))
        assert judge.verdict(judge.situation(source, device_id, evidence, day), evidence, day) == expected
