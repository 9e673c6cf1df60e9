"""Entity resolution: a golden table of the ways Chinese systems disagree, each a match or a non-match."""

from __future__ import annotations

from pathlib import Path

import pytest

from trafficgov.errors import FieldError
from trafficgov.hub.link import KINDS, LinkageSettingsError, Match, link, load_settings, settings_at
from trafficgov.registry.identifiers import id_check_digit, uscc_check_char, vin_check_char


def resident_id(division: str, born: str, seq: int) -> str:
    first17 = f"{division}{born}{seq:03d}"
    return first17 + id_check_digit(first17)


def uscc(body: str) -> str:
    first17 = f"91370100{body}"
    return first17 + uscc_check_char(first17)


def vin(serial: str) -> str:
    body = f"LVSFKAML{serial}"
    return body[:8] + vin_check_char(body[:8] + "0" + body[8:]) + body[8:]


ZHANG = resident_id("370102", "19850312", 123)
LI = resident_id("370103", "19900701", 246)
WANG = resident_id("370104", "19761120", 357)
ZHAO = resident_id("370105", "19681004", 468)
CHEN = resident_id("370112", "19950228", 579)
ZHOU = resident_id("370113", "19580815", 682)
SUN = resident_id("370114", "19820101", 791)
NAMESAKE_A = resident_id("370102", "19880808", 111)
NAMESAKE_B = resident_id("370105", "19880808", 333)
OLD = resident_id("370102", "19700505", 555)


def swapped(number: str) -> str:
    """Two adjacent, different digits of the sequence swapped (the check digit then fails)."""
    for i in range(14, 16):
        if number[i] != number[i + 1]:
            return number[:i] + number[i + 1] + number[i] + number[i + 2 :]
    raise AssertionError(number)


# (case, left row, right row, expected: "id_number"/"uscc"/"vin" for a key match, "probabilistic", or None)
PEOPLE = [
    ("same valid ID, homophone name", {"id_number": ZHANG, "name": "张伟"}, {"id_number": ZHANG, "name": "章伟"}, "id_number"),
    ("homophone name, no ID on one side",
     {"id_number": LI, "name": "刘静", "phone": "13812345678", "address": "济南市市中区经七路12号"},
     {"name": "柳静", "birth_date": "1990年7月1日", "sex": "女", "phone": "13812345678", "address": "济南市市中区经七路12号"}, "probabilistic"),
    ("full-width ID number", {"id_number": WANG, "name": "王磊"}, {"id_number": WANG.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}), "name": "王磊"}, "id_number"),
    ("ID with two digits swapped, new phone",
     {"id_number": ZHAO, "name": "赵刚", "phone": "13900001111", "address": "济南市天桥区北园大街8号"},
     {"id_number": swapped(ZHAO), "name": "赵刚", "phone": "18600002222", "address": "济南市天桥区北园大街8号"}, "probabilistic"),
    ("ID with a digit missing", {"id_number": CHEN, "name": "陈晨", "phone": "15000003333"},
     {"id_number": CHEN[:9] + CHEN[10:], "name": "陈晨", "birth_date": "1995/2/28", "sex": "女"}, "probabilistic"),
    ("old and new phone, ID missing",
     {"id_number": ZHOU, "name": "周建国", "phone": "13700004444", "address": "济南市长清区大学路3号"},
     {"name": "周建国", "birth_date": "19580815", "phone": "+86 188 0000 5555", "address": "济南市长清区大学路3号"}, "probabilistic"),
    ("old 15-digit ID", {"id_number": OLD, "name": "孙丽"}, {"id_number": OLD[:6] + OLD[8:17], "name": "孙莉"}, "id_number"),
    ("same name and birth date, different valid IDs",
     {"id_number": NAMESAKE_A, "name": "张伟", "birth_date": "1988-08-08", "sex": "男", "address": "济南市历下区经十路1号"},
     {"id_number": NAMESAKE_B, "name": "张伟", "birth_date": "1988-08-08", "sex": "男", "address": "济南市历下区经十路1号"}, None),
    ("different people, nothing shared", {"id_number": SUN, "name": "孙强", "phone": "13100006666"},
     {"name": "郭敏", "birth_date": "1999-09-09", "phone": "13200007777"}, None),
]

COMPANIES = [
    ("same USCC, different writing", {"uscc": uscc("MA3C4D5E6"), "name": "济南顺达物流有限公司"},
     {"uscc": uscc("MA3C4D5E6"), "name": "顺达物流"}, "uscc"),
    ("without 有限公司 and city, same address",
     {"uscc": uscc("MA1B2C3D4"), "name": "济南宏远运输有限公司", "address": "济南市历城区工业南路100号"},
     {"name": "宏远运输", "address": "济南市历城区工业南路100号"}, "probabilistic"),
    ("province and city prefix, same permit",
     {"uscc": uscc("MA7F8G9H0"), "name": "山东省济南市鼎盛客运有限公司", "permit_number": "鲁交运管许可济字370100001号"},
     {"name": "鼎盛客运有限责任公司", "permit_number": "鲁交运管许可济字370100001号"}, "probabilistic"),
    ("a similar but different company", {"uscc": uscc("MA2K3L4M5"), "name": "济南恒通货运有限公司", "address": "济南市槐荫区营市街5号"},
     {"name": "恒达货运有限公司", "address": "济南市章丘区汇泉路77号"}, None),
]

VEHICLES = [
    ("same VIN, plate written differently", {"vin": vin("GF423558"), "plate_number": "鲁A12345"},
     {"vin": vin("GF423558"), "plate_number": "A12345"}, "vin"),
    ("plate without province character, same owner",
     {"vin": vin("GF100001"), "plate_number": "鲁A8K2M1", "plate_type": "02", "owner_id": ZHANG},
     {"plate_number": "A8K2M1", "plate_type": "02", "owner_id": ZHANG}, "probabilistic"),
    ("full-width plate, lower case, same owner",
     {"vin": vin("GF100002"), "plate_number": "鲁AD3390", "plate_type": "52", "owner_id": LI},
     {"plate_number": "鲁ａｄ３３９０", "plate_type": "52", "owner_id": LI}, "probabilistic"),
    ("same plate, different valid VINs (a re-issued plate)",
     {"vin": vin("GF200001"), "plate_number": "鲁B55555", "plate_type": "02", "owner_id": WANG},
     {"vin": vin("GF299999"), "plate_number": "鲁B55555", "plate_type": "02", "owner_id": WANG}, None),
]

GOLDEN = {"people": PEOPLE, "companies": COMPANIES, "vehicles": VEHICLES}


def sides(kind: str) -> tuple[list[dict], list[dict]]:
    left, right = [], []
    for i, (_, l_row, r_row, _) in enumerate(GOLDEN[kind]):
        left.append({"record_id": f"L{i}", **l_row})
        right.append({"record_id": f"R{i}", **r_row})
    return left, right


@pytest.fixture(scope="module")
def results() -> dict[str, dict[tuple[str, str], Match]]:
    out = {}
    for kind in KINDS:
        left, right = sides(kind)
        out[kind] = {(m.left_id, m.right_id): m for m in link(kind, left, right)}
    return out


@pytest.mark.parametrize(
    ("kind", "index"), [(kind, i) for kind, table in GOLDEN.items() for i in range(len(table))],
    ids=[f"{kind}: {case[0]}" for kind, table in GOLDEN.items() for case in table],
)
def test_golden_pair_is_linked_as_expected(results, kind: str, index: int) -> None:
    expected = GOLDEN[kind][index][3]
    match = results[kind].get((f"L{index}", f"R{index}"))
    if expected is None:
        assert match is None
    else:
        assert match is not None
        assert match.how == expected
        assert match.match_probability >= settings_at().kinds[kind].threshold


@pytest.mark.parametrize("kind", KINDS)
def test_no_record_is_linked_to_another_golden_case(results, kind: str) -> None:
    assert all(left[1:] == right[1:] for left, right in results[kind])


def test_a_key_match_has_probability_one_and_results_are_sorted(results) -> None:
    people = list(results["people"].values())
    assert [(m.left_id, m.right_id) for m in people] == sorted((m.left_id, m.right_id) for m in people)
    assert all(m.match_probability == 1.0 for m in people if m.how == "id_number")


def test_same_input_gives_same_output() -> None:
    left, right = sides("people")
    assert link("people", left, right) == link("people", left, right)


def test_threshold_is_respected() -> None:
    left, right = sides("people")
    loose = link("people", left, right, threshold=0.01)
    assert all(m.match_probability >= 0.01 for m in loose)
    strict = link("people", left, right, threshold=1.0)
    assert {m.how for m in strict} == {"id_number"}


def test_namesakes_with_valid_ids_stay_apart_even_at_a_low_threshold() -> None:
    left, right = sides("people")
    assert ("L7", "R7") not in {(m.left_id, m.right_id) for m in link("people", left, right, threshold=0.01)}


def test_empty_side_links_nothing() -> None:
    left, _ = sides("people")
    assert link("people", left, []) == []


@pytest.mark.parametrize(
    ("kind", "left", "right", "threshold", "field"),
    [
        ("persons", [], [], None, "kind"),
        ("people", [{"name": "张伟"}], [], None, "record_id"),
        ("people", [{"record_id": " "}], [], None, "record_id"),
        ("people", [{"record_id": 1}, {"record_id": "1"}], [], None, "record_id"),
        ("people", ["not a record"], [], None, "left[0]"),
        ("people", [], [{"record_id": "a"}, {"record_id": "a"}], None, "record_id"),
        ("people", [], [], 0.0, "threshold"),
        ("people", [], [], 1.5, "threshold"),
    ],
)
def test_bad_input_names_the_field(kind, left, right, threshold, field) -> None:
    with pytest.raises(FieldError) as caught:
        link(kind, left, right, threshold=threshold)
    assert caught.value.field == field
    assert caught.value.zh and caught.value.en


def test_settings_file_loads_with_a_threshold_per_kind() -> None:
    current = settings_at()
    assert set(current.kinds) == set(KINDS)
    assert all(0.9 <= current.kinds[k].threshold <= 1 for k in KINDS)


SETTINGS = (Path(__file__).parents[2] / "src/trafficgov/hub/data/linkage.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s + s[s.index("  - version_id"):], "version_id"),
        (lambda s: s.replace("[name_key, birth_date]", "[name_key, shoe_size]"), "unknown columns"),
        (lambda s: s.replace("sex: {m: [0.99, 0.01]", "sex: {m: [0.99, 0.02]"), "together 1"),
        (lambda s: s.replace("sex: {m: [0.99, 0.01], u: [0.5, 0.5]}", "sex: {m: [0.98, 0.01, 0.01], u: [0.4, 0.3, 0.3]}"), "levels"),
        (lambda s: s.replace("threshold: 0.99", "threshold: 1.5", 1), "threshold"),
    ],
)
def test_a_bad_settings_file_is_refused(tmp_path, change, message) -> None:
    path = tmp_path / "linkage.yaml"
    path.write_text(change(SETTINGS), encoding="utf-8")
    with pytest.raises(LinkageSettingsError, match=message):
        load_settings(path)
