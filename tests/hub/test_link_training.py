"""A batch large enough to train on but lopsided (the right side names nobody, it only repeats ID numbers):
Splink's training finds no pairs for a training rule and refuses; link() then scores with the shipped
starting values instead of failing the whole build (seen on the medium demo city's golden records)."""

from __future__ import annotations

from trafficgov.hub.link import link, settings_at
from trafficgov.registry.identifiers import id_check_digit


def test_a_batch_that_cannot_be_trained_is_scored_with_the_starting_values():
    n = settings_at().min_records_to_train
    left, right = [], []
    for i in range(n):
        body = f"370102198{(i // 1000) % 10}0101{i % 1000:03d}"
        number = body + id_check_digit(body)
        left.append({"record_id": f"L{i}", "id_number": number, "name": f"张{i}", "phone": f"138{i:08d}"})
        right.append({"record_id": f"R{i}", "id_number": number})
    matches = link("people", left, right)
    assert {(m.left_id, m.right_id) for m in matches} == {(f"L{i}", f"R{i}") for i in range(n)}
