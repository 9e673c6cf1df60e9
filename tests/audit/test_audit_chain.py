"""Pure tests of the audit chain: canonical form, entry hashes and head signatures (no database)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trafficgov.audit.chain import (
    GENESIS,
    canonical_entry,
    entry_hash,
    format_time,
    sign_head,
    signature_valid,
)
from trafficgov.audit.model import ACTION_LABELS_ZH, AuditEntry, action_label

KEY = b"k" * 32
BEIJING = timezone(timedelta(hours=8))


def make_entry(**changes) -> AuditEntry:
    values = {
        "actor": "officer-007",
        "role": "officer",
        "unit": "济南市公安局交警支队",
        "action": "read",
        "entity": "person",
        "record_key": "370102199003071234",
        "purpose": "违法处理",
        "at": datetime(2024, 3, 1, 8, 30, 0, 123, tzinfo=UTC),
        "detail": {"fields": ["name", "licence"], "count": 1},
    }
    values.update(changes)
    return AuditEntry(**values)


def test_canonical_form_sorts_keys_and_writes_utc_microseconds():
    text = canonical_entry(make_entry(detail={"b": 1, "a": {"z": 2, "y": 3}}))
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert list(data["detail"]) == ["a", "b"]
    assert list(data["detail"]["a"]) == ["y", "z"]
    assert data["at"] == "2024-03-01T08:30:00.000123+00:00"
    assert "济南市" in text  # UTF-8, not \u escapes
    assert " " not in text.replace("济南市公安局交警支队", "")


def test_same_instant_in_another_zone_hashes_the_same():
    utc_entry = make_entry(at=datetime(2024, 3, 1, 0, 0, tzinfo=UTC))
    beijing_entry = make_entry(at=datetime(2024, 3, 1, 8, 0, tzinfo=BEIJING))
    assert beijing_entry.at.tzinfo is UTC
    assert entry_hash(GENESIS, 1, utc_entry) == entry_hash(GENESIS, 1, beijing_entry)
    assert format_time(beijing_entry.at) == "2024-03-01T00:00:00.000000+00:00"


def test_hash_covers_previous_hash_and_sequence_number():
    entry = make_entry()
    first = entry_hash(GENESIS, 1, entry)
    assert len(first) == 64 and int(first, 16) >= 0
    assert entry_hash(GENESIS, 1, entry) == first
    assert entry_hash(GENESIS, 2, entry) != first
    assert entry_hash(first, 1, entry) != first


@pytest.mark.parametrize(
    "change",
    [
        {"actor": "officer-008"},
        {"role": "supervisor"},
        {"unit": None},
        {"action": "update"},
        {"entity": "vehicle"},
        {"record_key": None},
        {"purpose": "其他"},
        {"at": datetime(2024, 3, 1, 8, 30, 0, 124, tzinfo=UTC)},
        {"detail": {"fields": ["name"], "count": 1}},
    ],
)
def test_changing_any_field_changes_the_hash(change):
    assert entry_hash(GENESIS, 1, make_entry(**change)) != entry_hash(GENESIS, 1, make_entry())


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.one_of(
            st.integers(),
            st.text(max_size=12),
            st.booleans(),
            st.none(),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
        max_size=5,
    )
)
def test_detail_survives_a_json_round_trip_with_the_same_hash(detail):
    entry = make_entry(detail=detail)
    reloaded = dataclasses.replace(entry, detail=json.loads(json.dumps(detail)))
    assert entry_hash(GENESIS, 7, reloaded) == entry_hash(GENESIS, 7, entry)


_TEXT = st.text(max_size=20)
_OPTIONAL = st.one_of(st.none(), _TEXT)


@given(
    actor=_TEXT.filter(bool),
    role=_TEXT.filter(bool),
    unit=_OPTIONAL,
    entity=_TEXT.filter(bool),
    record_key=_OPTIONAL,
    purpose=_OPTIONAL,
    micros=st.integers(min_value=0, max_value=10**12),
    detail=st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), _TEXT, st.none()), max_size=4),
)
def test_hand_written_canonical_form_equals_sorted_key_json(
    actor, role, unit, entity, record_key, purpose, micros, detail
):
    e = AuditEntry(
        actor=actor,
        role=role,
        unit=unit,
        action="read",
        entity=entity,
        record_key=record_key,
        purpose=purpose,
        at=datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros),
        detail=detail,
    )
    expected = json.dumps(
        {
            "actor": actor,
            "role": role,
            "unit": unit,
            "action": "read",
            "entity": entity,
            "record_key": record_key,
            "purpose": purpose,
            "at": format_time(e.at),
            "detail": detail,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert canonical_entry(e) == expected


def test_head_signature_depends_on_key_head_and_kind():
    signature = sign_head(KEY, 100, "a" * 64)
    assert signature_valid(KEY, 100, "a" * 64, signature)
    assert not signature_valid(b"x" * 32, 100, "a" * 64, signature)
    assert not signature_valid(KEY, 101, "a" * 64, signature)
    assert not signature_valid(KEY, 100, "b" * 64, signature)
    assert not signature_valid(KEY, 100, "a" * 64, signature, kind="retention")
    assert not signature_valid(KEY, 100, "a" * 64, "非十六进制")


def test_entry_refuses_naive_times_and_odd_actions():
    with pytest.raises(ValueError):
        make_entry(at=datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        make_entry(action="Read Everything")
    with pytest.raises(ValueError):
        make_entry(actor="")
    with pytest.raises(ValueError):
        make_entry(purpose="x" * 513)


def test_every_common_action_has_a_chinese_label():
    for action in ("read", "create", "update", "import", "export", "login", "decide", "share"):
        assert ACTION_LABELS_ZH[action]
    assert action_label("read") == "查阅"
    assert action_label("unlisted") == "unlisted"
