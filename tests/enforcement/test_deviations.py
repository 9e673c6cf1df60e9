"""A decision other than the engine's proposal (偏离裁量建议) stays within the law and says why.

Golden cases on `service.deviated_decision`: the statutory maximum (RTSL Art. 90: 20–200 yuan for running
a red light), points fixed by Order 163 for a fine and none for a warning (Order 163 Art. 28), no fine with
a warning or no penalty, education with no penalty (APL Art. 33), and an explanation of the decision made.
"""

from __future__ import annotations

import pytest

from trafficgov.enforcement import service
from trafficgov.errors import FieldError

PROPOSAL = {
    "case_id": "7", "outcome": "fine", "fine_yuan": 200, "fine_range_yuan": [20, 200], "points": 6, "licence_action": "none", "licence_months": None,
    "education": False, "rule_ids": ["rtsl.art90.red_light", "o163.red_light"], "legal_basis": ["《道路交通安全法》第九十条"],
    "explanation_zh": "您于2026年6月21日的违法行为为“不按交通信号灯指示通行（闯红灯）”。依照《道路交通安全法》第九十条：警告或者二十元以上二百元以下罚款。罚款200元，记6分。",
}
SUSPENSION = {**PROPOSAL, "outcome": "fine_and_licence", "fine_yuan": 1500, "fine_range_yuan": [1000, 2000], "points": 12, "licence_action": "suspend", "licence_months": 6}
REASON = "当事人系送医途中，情节轻微"


def deviate(proposal, **deviation):
    return service.deviated_decision(proposal, service.Deviation(**deviation), REASON, case_id=7)


@pytest.mark.parametrize(
    ("name", "proposal", "deviation", "expected"),
    [
        ("warning instead of the fine: no fine, no points", PROPOSAL, {"outcome": "warning"}, {"outcome": "warning", "fine_yuan": None, "points": 0, "education": False}),
        ("no penalty with education (APL Art. 33)", PROPOSAL, {"outcome": "no_penalty"}, {"outcome": "no_penalty", "fine_yuan": None, "points": 0, "education": True}),
        ("a lighter fine keeps Order 163's points", PROPOSAL, {"outcome": "fine", "fine_yuan": 100}, {"outcome": "fine", "fine_yuan": 100, "points": 6}),
        ("the statutory maximum itself (以下 includes it)", {**PROPOSAL, "fine_yuan": 100}, {"outcome": "fine", "fine_yuan": 200}, {"fine_yuan": 200, "points": 6}),
        ("below the minimum: a reduction (减轻) for the legal reviewer", PROPOSAL, {"outcome": "fine", "fine_yuan": 10}, {"fine_yuan": 10, "points": 6}),
        ("the points given may be the fixed ones", PROPOSAL, {"outcome": "fine", "fine_yuan": 150, "points": 6}, {"points": 6}),
        ("a fine without the licence measure drops it", SUSPENSION, {"outcome": "fine", "fine_yuan": 2000}, {"outcome": "fine", "licence_action": "none", "licence_months": None, "points": 12}),
        ("a lighter fine with the licence measure keeps it", SUSPENSION, {"outcome": "fine_and_licence", "fine_yuan": 1000}, {"licence_action": "suspend", "licence_months": 6}),
        ("no proposal (a manual case): the officer's points", None, {"outcome": "fine", "fine_yuan": 100, "points": 3}, {"fine_yuan": 100, "points": 3}),
        ("after a proposed warning, a fine's points are the officer's", {**PROPOSAL, "outcome": "warning", "fine_yuan": None, "points": 0}, {"outcome": "fine", "fine_yuan": 100, "points": 6}, {"points": 6}),
    ],
)
def test_a_deviation_within_the_law(name, proposal, deviation, expected):
    decision = deviate(proposal, **deviation)
    assert {k: decision.get(k) for k in expected} == expected, name
    assert REASON in decision["explanation_zh"] and "经法制审核" in decision["explanation_zh"]


@pytest.mark.parametrize(
    ("name", "proposal", "deviation", "field"),
    [
        ("above the statutory maximum (RTSL Art. 90: 200)", PROPOSAL, {"outcome": "fine", "fine_yuan": 201}, "deviation.fine_yuan"),
        ("a fine must name its amount", PROPOSAL, {"outcome": "fine"}, "deviation.fine_yuan"),
        ("a fine of nothing", PROPOSAL, {"outcome": "fine", "fine_yuan": 0}, "deviation.fine_yuan"),
        ("points are Order 163's, not the officer's", PROPOSAL, {"outcome": "fine", "fine_yuan": 100, "points": 0}, "deviation.points"),
        ("a warning carries no points (Order 163 Art. 28)", PROPOSAL, {"outcome": "warning", "points": 6}, "deviation.points"),
        ("a warning has no fine", PROPOSAL, {"outcome": "warning", "fine_yuan": 100}, "deviation.fine_yuan"),
        ("no licence measure to add", PROPOSAL, {"outcome": "fine_and_licence", "fine_yuan": 100}, "deviation.outcome"),
        ("above the maximum with a licence measure", SUSPENSION, {"outcome": "fine_and_licence", "fine_yuan": 2500}, "deviation.fine_yuan"),
    ],
)
def test_a_deviation_outside_the_law_is_refused_naming_the_field(name, proposal, deviation, field):
    with pytest.raises(FieldError) as refused:
        deviate(proposal, **deviation)
    assert refused.value.field == field, name


def test_the_explanation_states_the_facts_the_proposal_and_the_decision_made():
    text = deviate(PROPOSAL, outcome="warning")["explanation_zh"]
    assert text.startswith("您于2026年6月21日的违法行为为“不按交通信号灯指示通行（闯红灯）”。")
    assert "裁量建议为罚款200元，记6分；" in text and f"承办民警认为：{REASON}。" in text and "决定警告。" in text
    assert "第二十八条" in text and "免予记分" in text
    assert "记6分。" not in text.split("决定")[1]  # nothing after the decision speaks of the proposal's penalty
    manual = deviate(None, outcome="fine", fine_yuan=100, points=3)["explanation_zh"]
    assert manual.startswith("承办民警认为") and "裁量建议" not in manual and "决定罚款100元，记3分。" in manual
    assert "第三十三条" in deviate(PROPOSAL, outcome="no_penalty")["explanation_zh"]


def test_the_same_decision_as_the_proposal_is_no_deviation():
    assert service._same_as_proposal(service.Deviation(outcome="fine", fine_yuan=200), PROPOSAL)
    assert service._same_as_proposal(service.Deviation(outcome="fine", fine_yuan=200, points=6), PROPOSAL)
    assert not service._same_as_proposal(service.Deviation(outcome="fine", fine_yuan=100), PROPOSAL)
    assert not service._same_as_proposal(service.Deviation(outcome="warning"), PROPOSAL)
    assert not service._same_as_proposal(service.Deviation(outcome="fine", fine_yuan=200), None)
