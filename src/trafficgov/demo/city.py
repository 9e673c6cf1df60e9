"""演示城市生成器 — builds a deterministic synthetic Jinan and writes it as CSV/JSON files.

Everything is drawn from `random.Random` streams seeded by (seed, stage), so the same seed, size and
reference date give byte-identical files. Rows are written as they are made; what stays in memory
is a few compact arrays per person (id parts, licence dates, latent risk, points), which keeps a
million-person build near 100 MB. The generative model is in docs/demo-city.md.
"""

from __future__ import annotations

import csv
import json
import math
from array import array
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import Any, TextIO

from trafficgov.demo import names
from trafficgov.registry.identifiers import id_check_digit, uscc_check_char, vin_check_char

# --------------------------------------------------------------------------------------------- sizes

SIZES: dict[str, dict[str, int]] = {
    "small": {"people": 400, "companies": 14, "cameras": 40, "grid_cols": 7, "grid_rows": 5},
    "medium": {"people": 20_000, "companies": 180, "cameras": 300, "grid_cols": 11, "grid_rows": 7},
    "large": {"people": 1_000_000, "companies": 8_000, "cameras": 3_000, "grid_cols": 17, "grid_rows": 11},
}

HISTORY_YEARS = 3
LONG_TERM = "9999-12-31"  # 长期: a licence valid without end

FILES = {
    "organisations": "organisations.csv",
    "roads": "roads.json",
    "cameras": "cameras.csv",
    "companies": "companies.csv",
    "people": "people.csv",
    "licences": "licences.csv",
    "vehicles": "vehicles.csv",
    "employments": "employments.csv",
    "violations": "violations.csv",
    "accidents": "accidents.jsonl",
    "inspections": "inspections.csv",
    "safety_records": "safety_records.csv",
    "gps_alarms": "gps_alarms.csv",
    "truth": "truth.json",
}

COLUMNS = {
    "organisations": ("code", "name", "kind", "parent_code", "jurisdiction"),
    "cameras": ("camera_id", "kind", "lon", "lat", "edge_id", "district", "direction", "installed_on",
                "certified_until", "location_published_at"),
    "companies": ("uscc", "name", "kind", "address", "permit_number", "permit_valid_to"),
    "people": ("id_number", "name", "phone", "address", "doc_type"),
    "licences": ("id_number", "classes", "first_issued", "valid_from", "valid_to", "status", "school_uscc",
                 "points", "cycle_start"),
    "vehicles": ("plate_number", "plate_type", "vin", "vehicle_type", "use_nature", "owner_id", "operator_uscc",
                 "rated_passengers", "rated_load_kg", "max_total_mass_kg", "axles", "registered_on",
                 "inspection_due", "insurance_expiry", "status"),
    "employments": ("id_number", "uscc", "role", "from", "to"),
    "violations": ("violation_id", "occurred_at", "decided_at", "behavior", "plate_number", "plate_type",
                   "driver_id", "region", "outcome", "fine_yuan", "points", "camera_id"),
    "inspections": ("inspection_id", "date", "kind", "plate_number", "plate_type", "driver_id", "uscc",
                    "defects", "out_of_service"),
    "safety_records": ("uscc", "month", "training_hours", "self_inspections", "monitoring_staff"),
    "gps_alarms": ("date", "plate_number", "plate_type", "kind", "count", "minutes"),
}

# ----------------------------------------------------------------------------------------- geography

CITY_CODE = "370100"
CITY_NAME = "济南市"


@dataclass(frozen=True)
class District:
    code: str
    name: str
    weight: float  # share of the population (2020 census, rounded)
    lon: float  # a schematic centre inside the demo map box, not the real one
    lat: float
    id_codes: tuple[tuple[str, int], ...]  # (division code used in ID numbers, in force until year)


DISTRICTS: tuple[District, ...] = (
    District("370102", "历下区", 75, 117.06, 36.66, (("370102", 9999),)),
    District("370103", "市中区", 100, 116.99, 36.63, (("370103", 9999),)),
    District("370104", "槐荫区", 60, 116.92, 36.66, (("370104", 9999),)),
    District("370105", "天桥区", 69, 116.99, 36.71, (("370105", 9999),)),
    District("370112", "历城区", 110, 117.14, 36.69, (("370112", 9999),)),
    District("370113", "长清区", 60, 116.88, 36.55, (("370123", 2001), ("370113", 9999))),
    District("370114", "章丘区", 100, 117.28, 36.70, (("370181", 2016), ("370114", 9999))),
    District("370115", "济阳区", 50, 117.15, 36.79, (("370125", 2018), ("370115", 9999))),
    District("370116", "莱芜区", 100, 117.22, 36.52, (("371202", 2019), ("370116", 9999))),
    District("370117", "钢城区", 30, 117.30, 36.50, (("371203", 2019), ("370117", 9999))),
    District("370124", "平阴县", 35, 116.80, 36.50, (("370124", 9999),)),
    District("370126", "商河县", 55, 116.95, 36.80, (("370126", 9999),)),
)
DISTRICT_CODES = tuple(d.code for d in DISTRICTS)

# Other Shandong cities and other provinces: where people who moved to Jinan were first registered.
OTHER_SHANDONG_CODES = ("370202", "370302", "370402", "370602", "370702", "370811", "370902", "371302",
                        "371402", "371502", "371602", "371702")
OTHER_PROVINCE_CODES = ("110105", "120101", "130102", "210102", "230103", "320106", "340104", "410105",
                        "420106", "440106", "510107")

LON_MIN, LON_MAX, LAT_MIN, LAT_MAX = 116.80, 117.30, 36.50, 36.80

EW_ROADS = ("北园大街", "工业北路", "经七路", "经四路", "旅游路", "二环南路", "堤口路", "泺源大街", "文化东路",
            "解放路", "和平路", "二环北路", "小清河北路", "刘长山路", "经一路")
NS_ROADS = ("二环西路", "纬十二路", "纬六路", "纬二路", "顺河高架路", "舜耕路", "历山路", "山大路", "二环东路",
            "奥体中路", "凤鸣路", "港西路", "济泺路", "无影山路", "英雄山路", "腊山河西路", "华信路")

# ------------------------------------------------------------------------------------ vehicle classes


@dataclass(frozen=True)
class Category:
    """A kind of vehicle with its registration attributes and its base event rates (risk 1.0)."""

    key: str
    plate_type: str
    vehicle_types: tuple[str, ...]
    use_natures: tuple[str, ...]
    passengers: tuple[int, int]
    load_kg: tuple[int, int]
    axles: tuple[int, ...]
    mass_kg: tuple[int, int]  # ignored where the mass follows the axles (trucks)
    wmis: tuple[str, ...]
    licence: str  # the class a driver of it needs
    violations_per_year: float
    crashes_per_year: float
    behaviours: str  # key into BEHAVIOUR_MIX
    inspection_rule: str  # key into INSPECTION_RULES
    commercial: bool = True
    key_vehicle: bool = False  # 两客一危一货: carries a satellite terminal, produces GPS alarms
    heavy: bool = False  # crashes are more severe
    trailer: str = ""  # category of the semi-trailer it pulls


TRUCK_MASS = {2: 18_000, 3: 25_000, 4: 31_000}

CATEGORIES: dict[str, Category] = {c.key: c for c in (
    Category("car", "02", ("K33", "K33", "K33", "K31"), ("A",), (5, 7), (0, 0), (2,), (1_500, 2_400),
             ("LSV", "LFV", "LVS", "LGB", "LBV", "LGW", "LHG"), "C1", 1.0, 0.05, "car", "private_car",
             commercial=False),
    Category("motorcycle", "07", ("M21",), ("A",), (2, 2), (0, 0), (2,), (300, 400),
             ("LWB", "LAL", "LCE"), "E", 0.6, 0.06, "motorcycle", "motorcycle", commercial=False),
    Category("company_car", "02", ("K33", "K31"), ("A",), (5, 7), (0, 0), (2,), (1_500, 2_400),
             ("LSV", "LFV", "LVS", "LGB"), "C1", 0.8, 0.05, "car", "private_car"),
    Category("light_truck", "02", ("H31", "H32"), ("F",), (2, 3), (1_000, 1_800), (2,), (3_000, 4_495),
             ("LGA", "LFW", "LVB"), "C1", 2.0, 0.08, "light_truck", "truck"),
    Category("medium_truck", "01", ("H21", "H22"), ("F",), (2, 3), (3_000, 6_000), (2,), (7_000, 12_000),
             ("LGA", "LFW", "LZZ"), "B2", 2.5, 0.12, "truck", "truck", key_vehicle=False, heavy=True),
    Category("heavy_truck", "01", ("H11", "H12", "H17", "H19"), ("F",), (2, 3), (8_000, 18_000), (2, 3, 4),
             (0, 0), ("LZZ", "LFW", "LGA", "LZG"), "B2", 3.0, 0.18, "truck", "truck", key_vehicle=True,
             heavy=True),
    Category("tractor", "01", ("Q11",), ("F",), (2, 2), (0, 0), (2, 3), (0, 0), ("LZZ", "LFW", "LZG"), "A2",
             3.0, 0.22, "truck", "truck", key_vehicle=True, heavy=True, trailer="trailer"),
    Category("trailer", "15", ("B11", "B12"), ("F",), (0, 0), (28_000, 34_000), (3,), (40_000, 40_000),
             ("LA9", "L9F"), "", 0.0, 0.0, "truck", "truck"),
    Category("dg_tanker", "01", ("H14",), ("R",), (2, 2), (8_000, 15_000), (3, 4), (0, 0), ("LZZ", "LFW"), "B2",
             1.5, 0.12, "truck", "truck", key_vehicle=True, heavy=True),
    Category("dg_tractor", "01", ("Q11",), ("R",), (2, 2), (0, 0), (3,), (0, 0), ("LZZ", "LFW"), "A2", 1.5,
             0.12, "truck", "truck", key_vehicle=True, heavy=True, trailer="dg_trailer"),
    Category("dg_trailer", "15", ("B13",), ("R",), (0, 0), (28_000, 32_000), (3,), (40_000, 40_000),
             ("LA9", "L9F"), "", 0.0, 0.0, "truck", "truck"),
    Category("city_bus", "01", ("K11",), ("C",), (60, 90), (0, 0), (2,), (16_000, 18_000), ("LZY", "LKL", "LC0"),
             "A3", 1.2, 0.20, "bus", "passenger", heavy=True),
    Category("highway_bus", "01", ("K11",), ("B",), (39, 55), (0, 0), (2,), (16_000, 18_000), ("LZY", "LKL"),
             "A1", 1.5, 0.15, "bus", "passenger", key_vehicle=True, heavy=True),
    Category("tourist_bus", "01", ("K11", "K11", "K21"), ("E",), (19, 55), (0, 0), (2,), (7_000, 18_000),
             ("LZY", "LKL"), "A1", 1.5, 0.12, "bus", "passenger", key_vehicle=True, heavy=True),
    Category("school_bus", "01", ("K11", "K21"), ("O", "P", "S"), (19, 56), (0, 0), (2,), (7_000, 18_000),
             ("LZY", "LKL"), "A1", 0.4, 0.05, "bus", "passenger", heavy=True),
    Category("coach_car", "16", ("K33",), ("N",), (5, 5), (0, 0), (2,), (1_500, 1_900), ("LSV", "LFV", "LGB"),
             "C1", 0.5, 0.10, "coach", "passenger"),
    Category("coach_truck", "16", ("H11",), ("N",), (2, 3), (8_000, 10_000), (2,), (18_000, 18_000),
             ("LZZ", "LFW"), "B2", 0.5, 0.10, "coach", "truck", heavy=True),
)}
NEV_WMIS = ("LC0", "LGX", "LRW", "LNB")

# (behaviour, weight) per kind of vehicle
BEHAVIOUR_MIX: dict[str, tuple[tuple[str, float], ...]] = {
    "car": (("speeding", 30), ("red_light", 12), ("phone_use", 8), ("no_seatbelt", 8), ("illegal_parking", 30),
            ("not_yielding_to_pedestrians", 8), ("improper_lane_expressway", 2), ("drink_driving", 0.6)),
    "motorcycle": (("red_light", 30), ("illegal_parking", 20), ("speeding", 10),
                   ("not_yielding_to_pedestrians", 10), ("drink_driving", 3)),
    "bus": (("speeding", 25), ("fatigue_driving", 12), ("overload_passengers", 10), ("red_light", 8),
            ("phone_use", 8), ("no_seatbelt", 6), ("improper_lane_expressway", 6), ("illegal_parking", 10),
            ("not_yielding_to_pedestrians", 10), ("drink_driving", 0.2)),
    "truck": (("speeding", 20), ("overload_freight", 20), ("fatigue_driving", 15), ("improper_lane_expressway", 15),
              ("red_light", 8), ("illegal_parking", 10), ("phone_use", 5), ("no_seatbelt", 5),
              ("not_yielding_to_pedestrians", 2), ("drink_driving", 0.3)),
    "light_truck": (("speeding", 20), ("overload_freight", 15), ("illegal_parking", 25), ("red_light", 10),
                    ("not_yielding_to_pedestrians", 5), ("phone_use", 5), ("no_seatbelt", 5),
                    ("improper_lane_expressway", 5), ("drink_driving", 0.4)),
    "coach": (("illegal_parking", 30), ("speeding", 20), ("red_light", 20), ("phone_use", 10),
              ("not_yielding_to_pedestrians", 20)),
}

# where a behaviour is caught: (camera kind or "" for an officer on the spot, weight)
SOURCES: dict[str, tuple[tuple[str, float], ...]] = {
    "speeding": (("speed", 90), ("", 10)),
    "red_light": (("red_light", 95), ("", 5)),
    "not_yielding_to_pedestrians": (("red_light", 80), ("", 20)),
    "phone_use": (("checkpoint", 60), ("video_patrol", 10), ("", 30)),
    "no_seatbelt": (("checkpoint", 70), ("", 30)),
    "illegal_parking": (("video_patrol", 70), ("", 30)),
    "improper_lane_expressway": (("expressway_checkpoint", 70), ("", 30)),
    "fatigue_driving": (("", 100),),
    "overload_passengers": (("checkpoint", 40), ("", 60)),
    "overload_freight": (("", 100),),
    "drink_driving": (("", 100),),
    "overdue_inspection": (("checkpoint", 70), ("", 30)),
}

# (points, fine in yuan): simplified demo values, not the rule book (rules/ decides real cases).
PENALTIES: dict[str, tuple[int, int]] = {
    "red_light": (6, 200),
    "phone_use": (3, 100),
    "no_seatbelt": (1, 50),
    "fatigue_driving": (3, 200),
    "overload_passengers": (6, 500),
    "overload_freight": (6, 500),
    "illegal_parking": (0, 100),
    "improper_lane_expressway": (3, 200),
    "not_yielding_to_pedestrians": (3, 100),
    "drink_driving": (12, 1500),
    "overdue_inspection": (3, 200),
}
SPEEDING_TIERS = ((0.65, 3, 200), (0.95, 6, 200), (1.0, 12, 1000))  # cumulative share, points, fine
WARNABLE_FIRST_OFFENCES = ("illegal_parking", "no_seatbelt", "speeding", "improper_lane_expressway")
HARSH_PARKING_REGION = "370112"  # planted: this brigade often fines illegal parking 200 instead of 100

# (until age in years, interval in months) — after RTSL-IR Art. 16 (2017 text), simplified
INSPECTION_RULES: dict[str, tuple[tuple[float, int], ...]] = {
    "private_car": ((6, 24), (15, 12), (999, 6)),
    "motorcycle": ((4, 24), (999, 12)),
    "passenger": ((5, 12), (999, 6)),
    "truck": ((10, 12), (999, 6)),
}

DEFECTS_VEHICLE = ("brakes", "lights", "tyres", "gps_terminal", "fire_extinguisher", "speed_limiter", "seatbelts",
                   "reflective_markings", "documents", "tachograph")
DEFECTS_COMPANY = ("training_records", "dynamic_monitoring", "vehicle_maintenance", "driver_qualification",
                   "emergency_plan", "hazard_register")

# document types other than the resident ID card, as registry/data/document_types.yaml codes them
DOC_TYPES = ("", "hk_macau_permit", "taiwan_permit", "foreign_passport")
NEV_PLATES_FROM = date(2017, 1, 1)  # new-energy plates were issued from the end of 2016

HOUR_WEIGHTS = (1, 0.6, 0.4, 0.3, 0.3, 0.6, 2, 5, 7, 6, 5, 5, 5, 5, 5, 5, 6, 7, 7, 5, 4, 3, 2, 1.5)

PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # 24: no I, no O
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O, Q
VIN_YEARS = "ABCDEFGHJKLMNPRSTVWXY123456789"  # 30-year cycle starting 1980 = A
USCC_BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# --------------------------------------------------------------------------------- latent-risk model

DRIVER_SIGMA = 0.5  # driver risk z ~ lognormal with mean 1
COMPANY_SIGMA = 0.5  # company risk u ~ lognormal with mean 1 (safety culture)
SMALL_COMPANY_FACTOR = 1.3  # companies with <= 4 vehicles run riskier on average
HIGH_RISK = 3.0
LOW_RISK = 0.3
RISKY_SCHOOL_EFFECT = 2.0  # graduates of the planted driving school carry twice the risk


@dataclass(frozen=True)
class PlantedCompany:
    name: str
    kind: str
    risk: float
    label: str  # "high", "low", "risky_school" or ""
    fleet: tuple[tuple[str, int], ...]
    scale: bool = True  # fleet grows with the size of the city
    owned_by_drivers: tuple[str, ...] = ()  # categories registered to the driver (挂靠)


PLANTED_COMPANIES: tuple[PlantedCompany, ...] = (
    PlantedCompany("济南泉城公交客运有限公司", "bus", 1.0, "", (("city_bus", 6),), scale=False),
    PlantedCompany("济南飞驰客运有限公司", "passenger_transport", HIGH_RISK, "high",
                   (("highway_bus", 4), ("tourist_bus", 3))),
    PlantedCompany("济南稳行旅游客运有限公司", "passenger_transport", LOW_RISK, "low",
                   (("tourist_bus", 4), ("school_bus", 3))),
    PlantedCompany("济南疾风物流有限公司", "freight_transport", HIGH_RISK, "high",
                   (("heavy_truck", 4), ("tractor", 4))),
    PlantedCompany("济南快马运输有限公司", "freight_transport", HIGH_RISK, "high", (("heavy_truck", 3),),
                   scale=False),
    PlantedCompany("济南安泰运输有限公司", "freight_transport", LOW_RISK, "low", (("heavy_truck", 4), ("tractor", 4))),
    PlantedCompany("济南鲁通物流有限公司", "freight_transport", 1.0, "",
                   (("heavy_truck", 3), ("tractor", 2), ("light_truck", 2)), owned_by_drivers=("light_truck",)),
    PlantedCompany("济南鑫安危险货物运输有限公司", "dangerous_goods", 1.0, "", (("dg_tanker", 3), ("dg_tractor", 2))),
    PlantedCompany("济南速成驾驶培训学校有限公司", "driving_school", 1.5, "risky_school",
                   (("coach_car", 5), ("coach_truck", 1))),
    PlantedCompany("济南明德驾驶培训学校有限公司", "driving_school", 0.7, "", (("coach_car", 5),)),
)
COMPANY_ACCOUNT = "济南鲁通物流有限公司"

DEMO_ACCOUNT_ROLES = ("citizen", "company", "clerk", "officer", "legal_reviewer", "supervisor", "partner",
                      "command", "admin")


def demo_password(role: str) -> str:
    """Fixed demo password of a role: for the demo city only, printed on start."""
    return f"demo-{role.replace('_', '-')}-2026"


# ------------------------------------------------------------------------------------------ manifest


@dataclass
class CityManifest:
    """演示城市清单 — what a build wrote: files, row counts and the demo accounts."""

    seed: int
    size: str
    as_of: date
    files: dict[str, Path]
    counts: dict[str, int]
    accounts: dict[str, dict]

    def to_json(self) -> str:
        return json.dumps(
            {
                "seed": self.seed,
                "size": self.size,
                "as_of": self.as_of.isoformat(),
                "files": {key: path.name for key, path in self.files.items()},
                "counts": self.counts,
                "accounts": self.accounts,
            },
            ensure_ascii=False,
            indent=2,
        ) + "\n"


def load_manifest(out_dir: Path) -> CityManifest:
    """Read `manifest.json` of a city built earlier into out_dir."""
    out_dir = Path(out_dir)
    data = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    return CityManifest(
        seed=data["seed"],
        size=data["size"],
        as_of=date.fromisoformat(data["as_of"]),
        files={key: out_dir / name for key, name in data["files"].items()},
        counts=data["counts"],
        accounts=data["accounts"],
    )


def build_city(
    seed: int,
    size: str,
    as_of: date,
    out_dir: Path,
    progress: Callable[[str, int, int], None] | None = None,
) -> CityManifest:
    """Build the demo city into out_dir (created if missing) and return its manifest.

    `progress(stage, done, total)` is called now and then, for a progress bar.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _Builder(seed, size, as_of, out_dir, progress).run()


# ------------------------------------------------------------------------------------------- helpers


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def add_months(day: date, months: int) -> date:
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def last_anniversary(first: date, as_of: date) -> date:
    """The latest anniversary of `first` on or before `as_of` (the start of a 12-month cycle)."""
    anniversary = add_years(first, as_of.year - first.year)
    return anniversary if anniversary <= as_of else add_years(first, as_of.year - first.year - 1)


def _cumulative(weights: list[float] | tuple[float, ...]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _below(rng: Random, n: int) -> int:
    """A uniform integer in [0, n): Random.randrange's speed matters at a million people."""
    return int(rng.random() * n)


def _between(rng: Random, low: int, high: int) -> int:
    """A uniform integer in [low, high]."""
    return low + int(rng.random() * (high - low + 1))


def _poisson(rng: Random, lam: float) -> int:
    """Knuth's method; fine for the small means used here."""
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _event_days(rng: Random, per_day: float, first: int, last: int) -> list[int]:
    """Days (ordinals) of a Poisson process with rate `per_day` over [first, last]."""
    days: list[int] = []
    if per_day <= 0 or last < first:
        return days
    end = last + 1
    t = first + rng.expovariate(per_day)
    while t < end:
        days.append(int(t))
        t += rng.expovariate(per_day)
    return days


def org_code_check(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation code."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, weights, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def make_uscc(prefix8: str, index: int, salt: int = 0) -> str:
    """A valid unified social credit code: prefix8 + "MA" + 6 characters from the index + checks."""
    space = 31**6
    m = (index * 7_368_787 + 104_729 + salt * 1_000_003) % space  # 7368787 is prime: a bijection
    chars = []
    for _ in range(6):
        m, digit = divmod(m, 31)
        chars.append(USCC_BODY[digit])
    body8 = "MA" + "".join(chars)
    first17 = prefix8 + body8 + org_code_check(body8)
    return first17 + uscc_check_char(first17)


class _Series:
    """Plate serials for one series: a counter through tiers, each scattered by a bijection."""

    def __init__(self, tiers: tuple[tuple[int, Callable[[int], str]], ...], multiplier: int, offset: int) -> None:
        self.tiers = tiers
        self.multiplier = multiplier
        self.offset = offset
        self.count = 0

    def next(self) -> str:
        k = self.count
        self.count += 1
        for size, decode in self.tiers:
            if k < size:
                return decode((k * self.multiplier + self.offset) % size)
            k -= size
        raise RuntimeError("plate series exhausted")


def _insert(digits: str, letters: str, positions: tuple[int, ...]) -> str:
    chars = list(digits)
    for pos, letter in zip(positions, letters, strict=True):
        chars.insert(pos, letter)
    return "".join(chars)


_PAIRS = tuple((a, b) for a in range(5) for b in range(a + 1, 5))


def _ordinary_one_letter(m: int) -> str:
    m, pos = divmod(m, 5)
    digits, letter = divmod(m, 24)
    return _insert(f"{digits:04d}", PLATE_LETTERS[letter], (pos,))


def _ordinary_two_letters(m: int) -> str:
    m, pair = divmod(m, 10)
    m, first = divmod(m, 24)
    digits, second = divmod(m, 24)
    return _insert(f"{digits:03d}", PLATE_LETTERS[first] + PLATE_LETTERS[second], _PAIRS[pair])


def _small_nev(m: int) -> str:
    digits, letter = divmod(m, 2)
    return "DF"[letter] + f"{digits:05d}"


def _small_nev_letter(m: int) -> str:
    m, letter = divmod(m, 2)
    digits, second = divmod(m, 24)
    return "DF"[letter] + PLATE_LETTERS[second] + f"{digits:04d}"


def _large_nev(m: int) -> str:
    digits, letter = divmod(m, 2)
    return f"{digits:05d}" + "DF"[letter]


def _four(m: int) -> str:
    return f"{m:04d}"


def _four_one_letter(m: int) -> str:
    m, pos = divmod(m, 4)
    digits, letter = divmod(m, 24)
    return _insert(f"{digits:03d}", PLATE_LETTERS[letter], (pos,))


class _Plates:
    """号牌 — unique plates per series; 鲁A is Jinan's issuing code."""

    PREFIX = "鲁A"

    def __init__(self) -> None:
        self.ordinary = _Series(((1_200_000, _ordinary_one_letter), (5_760_000, _ordinary_two_letters)),
                                1_000_003, 7_919)
        self.small_nev = _Series(((200_000, _small_nev), (480_000, _small_nev_letter)), 100_003, 1_237)
        self.large_nev = _Series(((200_000, _large_nev),), 100_003, 4_111)
        self.trailer = _Series(((10_000, _four), (96_000, _four_one_letter)), 7_919, 311)
        self.coach = _Series(((10_000, _four), (96_000, _four_one_letter)), 7_927, 97)

    def issue(self, plate_type: str) -> str:
        if plate_type == "52":
            return self.PREFIX + self.small_nev.next()
        if plate_type == "51":
            return self.PREFIX + self.large_nev.next()
        if plate_type == "15":
            return self.PREFIX + self.trailer.next() + "挂"
        if plate_type == "16":
            return self.PREFIX + self.coach.next() + "学"
        return self.PREFIX + self.ordinary.next()


@dataclass
class _Vehicle:
    plate: str
    plate_type: str
    category: Category
    registered: int  # ordinal
    overdue_due: int  # ordinal of a missed inspection, 0 when the vehicle is up to date


@dataclass
class _Slot:
    """A job in a company that one person fills: driver of a vehicle, escort, instructor or manager."""

    company: int
    role: str
    licence: str
    category: str = ""
    person: int = -1
    start: int = 0  # ordinal
    owned_by_driver: bool = False
    swap_day: int = 0  # the day another driver takes over this vehicle
    successor: int = -1  # the slot whose person takes over


@dataclass
class _Company:
    index: int
    uscc: str
    name: str
    kind: str
    district: District
    address: str
    permit_number: str
    permit_valid_to: str
    risk: float
    label: str
    fleet: list[str] = field(default_factory=list)  # categories of power units (trailers follow tractors)
    owned_by_drivers: tuple[str, ...] = ()
    slots: list[int] = field(default_factory=list)
    vehicles: int = 0


class _Out:
    """A CSV file written row by row."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self.handle: TextIO = path.open("w", encoding="utf-8", newline="", buffering=1 << 20)
        self.writer = csv.writer(self.handle, lineterminator="\n")
        self.writer.writerow(columns)
        self.rows = 0

    def write(self, row: list[Any] | tuple[Any, ...]) -> None:
        self.writer.writerow(row)
        self.rows += 1

    def close(self) -> None:
        self.handle.close()


# ------------------------------------------------------------------------------------------- builder


class _Builder:
    def __init__(self, seed: int, size: str, as_of: date, out_dir: Path,
                 progress: Callable[[str, int, int], None] | None) -> None:
        self.seed = seed
        self.size = size
        self.spec = SIZES[size]
        self.as_of = as_of
        self.as_of_ord = as_of.toordinal()
        self.start = add_years(as_of, -HISTORY_YEARS) + timedelta(days=1)
        self.start_ord = self.start.toordinal()
        self.out_dir = out_dir
        self.progress = progress or (lambda stage, done, total: None)
        self.counts: dict[str, int] = {}
        self.plates = _Plates()
        self.vehicle_serial = 0
        self.overdue_counter = 0
        self.district_cum = _cumulative([d.weight for d in DISTRICTS])
        self.hour_cum = _cumulative(HOUR_WEIGHTS)
        self.behaviour_cum = {k: ([b for b, _ in mix], _cumulative([w for _, w in mix]))
                              for k, mix in BEHAVIOUR_MIX.items()}
        self.source_cum = {k: ([s for s, _ in mix], _cumulative([w for _, w in mix])) for k, mix in SOURCES.items()}
        surnames = names.SURNAMES
        self.surnames = [s for s, _ in surnames]
        self.surname_cum = _cumulative([w for _, w in surnames])
        # ISO strings of the days events can fall on, looked up rather than formatted each time
        self.day_base = self.start_ord - 400
        self.day_iso = [date.fromordinal(o).isoformat() for o in range(self.day_base, self.as_of_ord + 400)]
        self.violation_seq = 0
        self.accident_seq = 0
        self.inspection_seq = 0
        self.recent_vehicles: list[tuple[str, str, str]] = []  # (plate, type, driver) for second parties
        self.recent_drivers: list[int] = []  # licensed people who sometimes borrow a car

    def rng(self, stage: str) -> Random:
        return Random(f"trafficgov-demo:{self.seed}:{self.size}:{self.as_of.isoformat()}:{stage}")

    def path(self, key: str) -> Path:
        return self.out_dir / FILES[key]

    def iso(self, ordinal: int) -> str:
        index = ordinal - self.day_base
        if 0 <= index < len(self.day_iso):
            return self.day_iso[index]
        return date.fromordinal(ordinal).isoformat()

    # ------------------------------------------------------------------------------------- run

    def run(self) -> CityManifest:
        self.organisations()
        self.roads_and_cameras()
        self.plan_companies()
        self.open_history()
        self.people()
        self.fleets()
        self.close_history()
        self.licences()
        self.truth()
        accounts = self.accounts()
        manifest = CityManifest(
            seed=self.seed,
            size=self.size,
            as_of=self.as_of,
            files={key: self.path(key) for key in FILES},
            counts=self.counts,
            accounts=accounts,
        )
        (self.out_dir / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
        return manifest

    # --------------------------------------------------------------------------- organisations

    def organisations(self) -> None:
        all_districts = " ".join(DISTRICT_CODES)
        detachment = "370100120000"
        rows: list[tuple[str, str, str, str, str]] = [
            (detachment, "济南市公安局交通警察支队", "detachment", "", all_districts),
            ("370100120100", "济南市公安局交通警察支队指挥中心", "command_centre", detachment, all_districts),
            ("370100120200", "济南市公安局交通警察支队车辆管理所", "vehicle_admin", detachment, all_districts),
        ]
        squadrons = {"370102": ("泉城路中队", "经十路中队"), "370103": ("英雄山中队", "七里山中队"),
                     "370112": ("唐冶中队", "华山中队"), "370104": ("西客站中队",)}
        for d in DISTRICTS:
            if d.name.endswith("县"):
                name = f"{d.name}公安局交通警察大队"
            else:
                name = f"济南市公安局交通警察支队{d.name}大队"
            brigade = d.code + "120000"
            rows.append((brigade, name, "brigade", detachment, d.code))
            for n, squadron in enumerate(squadrons.get(d.code, ()), start=1):
                rows.append((f"{d.code}1201{n:02d}", f"{name}{squadron}", "squadron", brigade, d.code))
        for d in DISTRICTS:
            if d.code in ("370113", "370114", "370115", "370116", "370124", "370126"):
                rows.append((d.code + "120200", f"济南市公安局交通警察支队车辆管理所{d.name[:-1]}分所", "county_office",
                             "370100120200", d.code))
        partners = (
            ("11", "交通运输局", "transport", 1),
            ("11", "市场监督管理局", "market_regulation", 2),
            ("11", "税务局", "tax", 3),
            ("51", "保险行业协会", "insurance", 4),
            ("11", "应急管理局", "emergency", 5),
            ("11", "城市管理局", "city_management", 6),
        )
        self.partner_codes: dict[str, str] = {}
        for prefix, name, kind, n in partners:
            code = make_uscc(prefix + CITY_CODE, n, salt=77)
            full = "国家税务总局济南市税务局" if kind == "tax" else f"济南市{name}"
            rows.append((code, full, kind, "", all_districts))
            self.partner_codes[kind] = code
        self.org_codes = {"detachment": detachment, "command": "370100120100", "vehicle_admin": "370100120200",
                          "brigade": "370102120000"}
        out = _Out(self.path("organisations"), COLUMNS["organisations"])
        for row in rows:
            out.write(row)
        out.close()
        self.counts["organisations"] = out.rows
        self.progress("organisations", out.rows, out.rows)

    # ---------------------------------------------------------------------------- roads, cameras

    def roads_and_cameras(self) -> None:
        rng = self.rng("roads")
        cols, rows = self.spec["grid_cols"], self.spec["grid_rows"]
        nodes: list[dict[str, Any]] = []
        for r in range(rows):
            for c in range(cols):
                border = r in (0, rows - 1) or c in (0, cols - 1)
                jitter = 0.0 if border else 0.3
                lon = LON_MIN + (LON_MAX - LON_MIN) * (c + rng.uniform(-jitter, jitter)) / (cols - 1)
                lat = LAT_MIN + (LAT_MAX - LAT_MIN) * (r + rng.uniform(-jitter, jitter)) / (rows - 1)
                nodes.append({"id": f"N{r * cols + c + 1:04d}", "lon": round(lon, 6), "lat": round(lat, 6)})
        edges: list[dict[str, Any]] = []

        def add(a: int, b: int, name: str, road_class: str, limit: int, axis: str) -> None:
            na, nb = nodes[a], nodes[b]
            mid_lon, mid_lat = (na["lon"] + nb["lon"]) / 2, (na["lat"] + nb["lat"]) / 2
            district = min(DISTRICTS, key=lambda d: (d.lon - mid_lon) ** 2 + (d.lat - mid_lat) ** 2)
            dx = (nb["lon"] - na["lon"]) * 111_320 * math.cos(math.radians(mid_lat))
            dy = (nb["lat"] - na["lat"]) * 110_574
            edges.append({"id": f"E{len(edges) + 1:04d}", "from": na["id"], "to": nb["id"], "name": name,
                          "road_class": road_class, "speed_limit_kmh": limit, "district": district.code,
                          "length_m": round(math.hypot(dx, dy)), "axis": axis})

        middle_row = rows // 2
        for r in range(rows):
            for c in range(cols - 1):
                if r in (0, rows - 1):
                    add(r * cols + c, r * cols + c + 1, "济南绕城高速", "expressway", 120, "EW")
                elif r == middle_row:
                    add(r * cols + c, r * cols + c + 1, "经十路", "urban_arterial", 70, "EW")
                else:
                    arterial = r % 2 == 0
                    add(r * cols + c, r * cols + c + 1, EW_ROADS[(r - 1) % len(EW_ROADS)],
                        "urban_arterial" if arterial else "ordinary", 60 if arterial else 50, "EW")
        for c in range(cols):
            for r in range(rows - 1):
                if c in (0, cols - 1):
                    add(r * cols + c, (r + 1) * cols + c, "济南绕城高速", "expressway", 120, "NS")
                else:
                    arterial = c % 2 == 0
                    add(r * cols + c, (r + 1) * cols + c, NS_ROADS[(c - 1) % len(NS_ROADS)],
                        "urban_arterial" if arterial else "ordinary", 60 if arterial else 40, "NS")
        self.edges = edges
        self.nodes = {n["id"]: n for n in nodes}
        roads = {
            "crs": "WGS84 (schematic: outlying districts are drawn inside the map box)",
            "nodes": nodes,
            "edges": [{k: v for k, v in e.items() if k != "axis"} for e in edges],
        }
        self.path("roads").write_text(json.dumps(roads, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        self.counts["road_nodes"] = len(nodes)
        self.counts["road_edges"] = len(edges)

        by_class: dict[str, list[dict[str, Any]]] = {"expressway": [], "urban_arterial": [], "ordinary": []}
        for e in edges:
            by_class[e["road_class"]].append(e)
        kinds = (("speed", 25, ("expressway", "urban_arterial")),
                 ("red_light", 30, ("urban_arterial", "ordinary")),
                 ("checkpoint", 25, ("expressway", "urban_arterial", "ordinary")),
                 ("video_patrol", 20, ("urban_arterial", "ordinary")))
        kind_cum = _cumulative([w for _, w, _ in kinds])
        out = _Out(self.path("cameras"), COLUMNS["cameras"])
        self.cameras: dict[str, list[tuple[str, str, int]]] = {
            "speed": [], "red_light": [], "checkpoint": [], "video_patrol": [], "expressway_checkpoint": []}
        first_install = date(2016, 1, 1).toordinal()
        n_cameras = self.spec["cameras"]
        for n in range(n_cameras):
            # the first cameras cover every kind, so that even a small city has each
            kind, _, classes = kinds[n] if n < len(kinds) else kinds[bisect(kind_cum, rng.random() * kind_cum[-1])]
            if n == len(kinds):
                kind, classes = "checkpoint", ("expressway",)
            pool = [e for cls in classes for e in by_class[cls]]
            edge = pool[_below(rng, len(pool))]
            a, b = self.nodes[edge["from"]], self.nodes[edge["to"]]
            t = rng.uniform(0.15, 0.85)
            lon, lat = a["lon"] + (b["lon"] - a["lon"]) * t, a["lat"] + (b["lat"] - a["lat"]) * t
            forward = rng.random() < 0.5
            direction = ("EB" if forward else "WB") if edge["axis"] == "EW" else ("NB" if forward else "SB")
            installed = (_between(rng, first_install, self.start_ord - 1) if rng.random() < 0.85
                         else _between(rng, self.start_ord, self.as_of_ord - 60))
            roll = rng.random()
            if roll < 0.05:
                published = ""  # planted: never published
            elif roll < 0.10:
                published = self.iso(installed + _between(rng, 30, 200))  # planted: published after first use
            else:
                published = self.iso(installed - _between(rng, 5, 30))
            if rng.random() < 0.08:
                certified = self.as_of_ord - _between(rng, 10, 300)  # planted: certification lapsed
            else:
                certified = self.as_of_ord + _between(rng, 1, 365)
            camera_id = f"{edge['district']}0000132{n + 1:07d}"
            out.write((camera_id, kind, f"{lon:.6f}", f"{lat:.6f}", edge["id"], edge["district"], direction,
                       self.iso(installed), self.iso(certified), published))
            self.cameras[kind].append((camera_id, edge["district"], installed))
            if kind == "checkpoint" and edge["road_class"] == "expressway":
                self.cameras["expressway_checkpoint"].append((camera_id, edge["district"], installed))
        out.close()
        self.counts["cameras"] = out.rows
        self.progress("roads", out.rows, out.rows)

    # -------------------------------------------------------------------------------- companies

    def address(self, rng: Random, district: District, home: bool) -> str:
        streets = names.STREETS[district.code]
        street = streets[_below(rng, len(streets))]
        if home:
            compound = names.COMPOUNDS[_below(rng, len(names.COMPOUNDS))]
            return (f"山东省济南市{district.name}{street}{_between(rng, 1, 399)}号{compound}"
                    f"{_between(rng, 1, 30)}号楼{_between(rng, 1, 4)}单元{_between(rng, 1, 28)}{_between(rng, 1, 4):02d}")
        return f"山东省济南市{district.name}{street}{_between(rng, 1, 999)}号"

    def pick_district(self, rng: Random) -> District:
        return DISTRICTS[bisect(self.district_cum, rng.random() * self.district_cum[-1])]

    def plan_companies(self) -> None:
        rng = self.rng("companies")
        people = self.spec["people"]
        scale = max(1.0, people / 20_000) ** 0.5
        specs: list[tuple[str, str, float, str, list[str], tuple[str, ...]]] = []
        for planted in PLANTED_COMPANIES:
            fleet: list[str] = []
            for category, count in planted.fleet:
                if planted.kind == "bus":
                    count = max(count, people // 500)
                elif planted.scale:
                    count = round(count * scale)
                fleet.extend([category] * count)
            specs.append((planted.name, planted.kind, planted.risk, planted.label, fleet, planted.owned_by_drivers))
        kinds = (("freight_transport", 55), ("passenger_transport", 8), ("dangerous_goods", 7),
                 ("driving_school", 4), ("other", 26))
        kind_cum = _cumulative([w for _, w in kinds])
        used = {s[0] for s in specs}
        for n in range(self.spec["companies"] - len(specs)):
            kind = kinds[n % len(kinds)][0] if n < len(kinds) else kinds[bisect(kind_cum, rng.random() * 100)][0]
            fleet = self.random_fleet(rng, kind)
            risk = rng.lognormvariate(-COMPANY_SIGMA**2 / 2, COMPANY_SIGMA)
            if len(fleet) <= 4:
                risk *= SMALL_COMPANY_FACTOR
            name = self.company_name(rng, kind, used)
            specs.append((name, kind, risk, "", fleet, ("light_truck", "heavy_truck") if kind == "freight_transport"
                          and rng.random() < 0.4 else ()))
        self.companies: list[_Company] = []
        self.slots: list[_Slot] = []
        permit_seq = 0
        for index, (name, kind, risk, label, fleet, owned_by_drivers) in enumerate(specs):
            district = self.pick_district(rng)
            transport = kind != "other"
            permit, permit_to = "", ""
            if transport:
                permit_seq += 1
                permit = f"鲁交运管许可济字{CITY_CODE}{(permit_seq * 7_919 + 100_000) % 1_000_000:06d}号"
                permit_to = self.iso(self.as_of_ord - _between(rng, 10, 200) if rng.random() < 0.03
                                     else self.as_of_ord + _between(rng, 30, 4 * 365))
            company = _Company(index, make_uscc("91" + CITY_CODE, index, salt=self.seed), name, kind, district,
                               self.address(rng, district, home=False), permit, permit_to, round(risk, 4), label,
                               fleet, owned_by_drivers)
            self.companies.append(company)
            for category in fleet:
                cat = CATEGORIES[category]
                role = "instructor" if kind == "driving_school" else "driver"
                owned = category in owned_by_drivers and rng.random() < (1.0 if index < len(PLANTED_COMPANIES) else 0.5)
                company.slots.append(self.add_slot(_Slot(index, role, cat.licence, category, owned_by_driver=owned)))
                if category in ("dg_tanker", "dg_tractor"):
                    company.slots.append(self.add_slot(_Slot(index, "escort", "", category)))
            company.slots.append(self.add_slot(_Slot(index, "safety_manager", "")))
            if len(fleet) > 30:
                company.slots.append(self.add_slot(_Slot(index, "safety_manager", "")))
        if len(self.slots) > people // 2:
            raise ValueError(f"size {self.size!r}: {len(self.slots)} company jobs for {people} people")
        self.schools = [c.index for c in self.companies if c.kind == "driving_school"]
        self.school_cum = _cumulative([len(self.companies[i].fleet) * (3 if self.companies[i].label == "risky_school"
                                                                         else 1) for i in self.schools])
        # who fills each job; people with a job are drawn up front so that the people pass knows them
        chosen = rng.sample(range(people), len(self.slots))
        self.slot_of: dict[int, int] = {person: n for n, person in enumerate(chosen)}
        for n, person in enumerate(chosen):
            self.slots[n].person = person
        self.plan_driver_swaps(rng)
        out = _Out(self.path("companies"), COLUMNS["companies"])
        for c in self.companies:
            out.write((c.uscc, c.name, c.kind, c.address, c.permit_number, c.permit_valid_to))
        out.close()
        self.counts["companies"] = out.rows
        self.progress("companies", out.rows, out.rows)

    def add_slot(self, slot: _Slot) -> int:
        self.slots.append(slot)
        return len(self.slots) - 1

    def random_fleet(self, rng: Random, kind: str) -> list[str]:
        if kind == "freight_transport":
            if rng.random() < 0.5:  # small operators, 1-4 vehicles
                size = _between(rng, 1, 4)
                return [("light_truck", "heavy_truck", "tractor", "medium_truck")[_below(rng, 4)] for _ in range(size)]
            size = min(150, max(5, round(rng.lognormvariate(math.log(12), 0.7))))
            mix = (("heavy_truck", 45), ("tractor", 35), ("medium_truck", 10), ("light_truck", 10))
        elif kind == "passenger_transport":
            size = min(120, max(3, round(rng.lognormvariate(math.log(12), 0.6))))
            mix = (("highway_bus", 50), ("tourist_bus", 40), ("school_bus", 10))
        elif kind == "dangerous_goods":
            size = min(80, max(2, round(rng.lognormvariate(math.log(9), 0.6))))
            mix = (("dg_tanker", 60), ("dg_tractor", 40))
        elif kind == "driving_school":
            size = min(120, max(4, round(rng.lognormvariate(math.log(15), 0.6))))
            mix = (("coach_car", 85), ("coach_truck", 15))
        else:
            size = _between(rng, 1, 5)
            mix = (("company_car", 60), ("light_truck", 40))
        cum = _cumulative([w for _, w in mix])
        return [mix[bisect(cum, rng.random() * cum[-1])][0] for _ in range(size)]

    def company_name(self, rng: Random, kind: str, used: set[str]) -> str:
        suffixes = names.COMPANY_SUFFIXES[kind]
        for attempt in range(60):
            trade = names.TRADE_FIRST[_below(rng, len(names.TRADE_FIRST))] + \
                names.TRADE_SECOND[_below(rng, len(names.TRADE_SECOND))]
            if trade[0] == trade[1]:
                continue
            place = "" if attempt < 20 else DISTRICTS[_below(rng, len(DISTRICTS))].name[:-1]
            name = f"济南{place}{trade}{suffixes[_below(rng, len(suffixes))]}"
            if name not in used:
                used.add(name)
                return name
        name = f"济南{len(used)}号{suffixes[0]}"
        used.add(name)
        return name

    def plan_driver_swaps(self, rng: Random) -> None:
        """Some drivers change company: two drivers of the same kind of vehicle trade places on a day."""
        by_category: dict[str, list[int]] = {}
        for n, slot in enumerate(self.slots):
            if slot.role == "driver" and not slot.owned_by_driver:
                by_category.setdefault(slot.category, []).append(n)
        for _category, pool in by_category.items():
            rng.shuffle(pool)
            wanted = max(1, round(len(pool) * 0.05))
            for a, b in zip(pool[0::2], pool[1::2], strict=False):
                if wanted <= 0:
                    break
                sa, sb = self.slots[a], self.slots[b]
                if sa.company == sb.company:
                    continue
                day = _between(rng, self.start_ord + 60, self.as_of_ord - 60)
                sa.swap_day, sa.successor = day, b
                sb.swap_day, sb.successor = day, a
                wanted -= 1

    # --------------------------------------------------------------------------------- history

    def open_history(self) -> None:
        self.out_vehicles = _Out(self.path("vehicles"), COLUMNS["vehicles"])
        self.out_violations = _Out(self.path("violations"), COLUMNS["violations"])
        self.out_inspections = _Out(self.path("inspections"), COLUMNS["inspections"])
        self.out_gps = _Out(self.path("gps_alarms"), COLUMNS["gps_alarms"])
        self.accidents_handle = self.path("accidents").open("w", encoding="utf-8", newline="\n",
                                                             buffering=1 << 20)
        self.accident_rows = 0

    def close_history(self) -> None:
        for key, out in (("vehicles", self.out_vehicles), ("violations", self.out_violations),
                         ("inspections", self.out_inspections), ("gps_alarms", self.out_gps)):
            out.close()
            self.counts[key] = out.rows
        self.accidents_handle.close()
        self.counts["accidents"] = self.accident_rows

    # ---------------------------------------------------------------------------------- people

    def people(self) -> None:
        rng = self.rng("people")
        r = rng.random
        n_people = self.spec["people"]
        as_of_ord = self.as_of_ord
        division_codes = list(dict.fromkeys(
            [code for d in DISTRICTS for code, _ in d.id_codes] + list(OTHER_SHANDONG_CODES)
            + list(OTHER_PROVINCE_CODES)))
        self.division_codes = division_codes
        division_index = {code: i for i, code in enumerate(division_codes)}
        self.oldest = as_of_ord - 82 * 366
        days = as_of_ord - self.oldest + 1
        sequence = array("H", bytes(2 * len(division_codes) * days * 2))
        self.p_division = array("B", bytes(n_people))
        self.p_birth = array("i", bytes(4 * n_people))  # yyyymmdd
        self.p_seq = array("H", bytes(2 * n_people))
        self.p_check = array("B", bytes(n_people))
        self.p_doc = array("B", bytes(n_people))  # 0 mainland, 1 HK/Macau, 2 Taiwan, 3 passport
        self.p_home = array("B", bytes(n_people))
        self.l_first = array("i", bytes(4 * n_people))  # ordinal, 0 = no licence
        self.l_cycle = array("i", bytes(4 * n_people))
        self.l_classes = array("B", bytes(n_people))
        self.l_school = array("h", [-1]) * n_people
        self.l_points = array("H", bytes(2 * n_people))
        self.p_risk = array("f", bytes(4 * n_people))
        self.class_strings: list[str] = [""]
        class_index: dict[str, int] = {"": 0}
        self.citizen, self.citizen_name = -1, ""  # the demo citizen: a licence and two vehicles

        # adult ages 18-80, fewer at the ends
        ages = list(range(18, 81))
        age_cum = _cumulative([(1.0 if a < 60 else 0.7 if a < 70 else 0.35) * (0.6 if a < 22 else 1.0) for a in ages])
        surnames, surname_cum = self.surnames, self.surname_cum
        male_given, female_given = names.GIVEN_MALE, names.GIVEN_FEMALE
        phone_prefixes = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                          "156", "157", "158", "159", "176", "177", "178", "180", "182", "185", "186", "187",
                          "188", "189", "191", "199")
        first_licence_floor = date(1990, 1, 1).toordinal()
        vehicle_count_cum = _cumulative([45, 43, 10, 2])
        ordinary_classes = (("C1", 84), ("C2", 10), ("C1 E", 4), ("C1 D", 1), ("B2", 1))
        ordinary_cum = _cumulative([w for _, w in ordinary_classes])
        out = _Out(self.path("people"), COLUMNS["people"])
        school_cum, schools = self.school_cum, self.schools
        step = max(1, n_people // 100)
        doc_due, documents = False, 0
        for i in range(n_people):
            if i % step == 0:
                self.progress("people", i, n_people)
            slot_n = self.slot_of.get(i, -1)
            slot = self.slots[slot_n] if slot_n >= 0 else None
            district_index = bisect(self.district_cum, r() * self.district_cum[-1])
            district = DISTRICTS[district_index]
            self.p_home[i] = district_index
            if slot is not None:
                age = _between(rng, 30, 57)
                male = r() < (0.5 if slot.role == "safety_manager" else 0.92)
            else:
                age = ages[bisect(age_cum, r() * age_cum[-1])]
                male = r() < 0.5
            birth_ord = as_of_ord - int((age + r()) * 365.2425)
            birth = date.fromordinal(birth_ord)
            # one person in a hundred shows a non-mainland document: HK/Macau, Taiwan, passport in turn
            doc_due = doc_due or i % 100 == 37
            doc = 0
            if doc_due and slot is None:
                doc, doc_due, documents = 1 + documents % 3, False, documents + 1
            self.p_doc[i] = doc
            if doc == 0:
                roll = r()
                if roll < 0.05:
                    code = OTHER_PROVINCE_CODES[_below(rng, len(OTHER_PROVINCE_CODES))]
                elif roll < 0.15:
                    code = OTHER_SHANDONG_CODES[_below(rng, len(OTHER_SHANDONG_CODES))]
                else:
                    # a number keeps the division code in force when it was issued; a few came late
                    year = max(birth.year, 1985) if r() < 0.9 else self.as_of.year
                    code = next(c for c, until in district.id_codes if year < until)
                division = division_index[code]
                key = (division * days + birth_ord - self.oldest) * 2 + male
                count = sequence[key]
                if count >= 500:
                    raise RuntimeError("more than 500 people share a division, birth date and sex")
                sequence[key] = count + 1
                seq = ((count + key * 7_919) * 37 % 500) * 2 + male  # scattered per key; odd = male
                ymd = birth.year * 10_000 + birth.month * 100 + birth.day
                first17 = f"{code}{ymd}{seq:03d}"
                self.p_division[i] = division
                self.p_birth[i] = ymd
                self.p_seq[i] = seq
                self.p_check[i] = ord(id_check_digit(first17))
                id_number = first17 + chr(self.p_check[i])
            else:
                id_number = self.document_number(i, doc)
            if doc == 3:
                name = names.FOREIGN_NAMES[_below(rng, len(names.FOREIGN_NAMES))]
            else:
                surname = surnames[bisect(surname_cum, r() * surname_cum[-1])]
                given_chars = male_given if male else female_given
                given = given_chars[_below(rng, len(given_chars))]
                if r() < 0.7:
                    given += given_chars[_below(rng, len(given_chars))]
                name = surname + given
            phone = phone_prefixes[_below(rng, len(phone_prefixes))] + f"{_below(rng, 100_000_000):08d}"
            out.write((id_number, name, phone, self.address(rng, district, home=True),
                       DOC_TYPES[doc]))

            # driving licence
            eighteen = add_years(birth, 18).toordinal()
            licensed = slot is not None and slot.licence != ""
            if not licensed:
                licensed = eighteen < as_of_ord - 1 and r() < (0.72 if age < 65 else 0.45) * (0.5 if doc else 1.0)
            if not licensed:
                continue
            if slot is not None and slot.licence:
                latest = as_of_ord - 12 * 365
                first = eighteen + int(r() * max(1, latest - eighteen))
                classes = slot.licence + (" D" if r() < 0.05 else "")
            else:
                first = max(eighteen, first_licence_floor) + int(rng.expovariate(1 / (6 * 365)))
                if first >= as_of_ord:
                    first = _between(rng, max(eighteen, first_licence_floor), as_of_ord - 1)
                classes = ordinary_classes[bisect(ordinary_cum, r() * ordinary_cum[-1])][0]
            school = -1
            if first >= self.start_ord and schools:
                school = schools[bisect(school_cum, r() * school_cum[-1])]
            risk = rng.lognormvariate(-DRIVER_SIGMA**2 / 2, DRIVER_SIGMA)
            if school >= 0 and self.companies[school].label == "risky_school":
                risk *= RISKY_SCHOOL_EFFECT
            self.p_risk[i] = risk
            self.l_first[i] = first
            self.l_school[i] = school
            self.l_cycle[i] = last_anniversary(date.fromordinal(first), self.as_of).toordinal()

            # private vehicles
            owned = bisect(vehicle_count_cum, r() * vehicle_count_cum[-1])
            if owned:
                motorcycle = [r() < 0.08 for _ in range(owned)]
                if any(motorcycle) and "E" not in classes and "D" not in classes:
                    classes += " E"
                for is_motorcycle in motorcycle:
                    self.private_vehicle(rng, i, id_number, district,
                                         CATEGORIES["motorcycle" if is_motorcycle else "car"], first)
                if owned >= 2 and doc == 0 and self.citizen < 0:
                    self.citizen, self.citizen_name = i, name
            index = class_index.get(classes)
            if index is None:
                index = class_index[classes] = len(self.class_strings)
                self.class_strings.append(classes)
            self.l_classes[i] = index
            if len(self.recent_drivers) < 256:
                self.recent_drivers.append(i)
            else:
                self.recent_drivers[_below(rng, 256)] = i
        out.close()
        self.counts["people"] = out.rows
        self.progress("people", n_people, n_people)
        if self.citizen < 0:
            raise RuntimeError("no person holds a licence and two vehicles; the city is too small")

    def document_number(self, i: int, doc: int) -> str:
        if doc == 1:
            return ("H" if i % 5 else "M") + f"{(i * 7_919 + 12_345) % 100_000_000:08d}"
        if doc == 2:
            return f"{(i * 104_729 + 777) % 100_000_000:08d}"
        return "E" + f"{(i * 15_485_863 + 4_242) % 100_000_000:08d}"

    def person_id(self, i: int) -> str:
        doc = self.p_doc[i]
        if doc:
            return self.document_number(i, doc)
        return f"{self.division_codes[self.p_division[i]]}{self.p_birth[i]}{self.p_seq[i]:03d}{chr(self.p_check[i])}"

    # -------------------------------------------------------------------------------- vehicles

    def new_vehicle(self, rng: Random, category: Category, registered: int, owner: str, operator: str,
                    nev: bool = False, use_nature: str = "") -> tuple[_Vehicle, list[str]]:
        """Register one vehicle: plate, VIN, attributes, due dates. Returns it and its CSV row."""
        plate_type = category.plate_type
        if nev:
            plate_type = "52" if plate_type == "02" else "51"
        plate = self.plates.issue(plate_type)
        reg_date = date.fromordinal(registered)
        wmis = NEV_WMIS if nev and category.key == "car" else category.wmis
        wmi = wmis[_below(rng, len(wmis))]
        vds = "".join(VIN_CHARS[_below(rng, 33)] for _ in range(5))
        m = (self.vehicle_serial * 7_919 + 104_729) % (33 * 1_000_000)
        self.vehicle_serial += 1
        body = f"{wmi}{vds}0{VIN_YEARS[(reg_date.year - 1980) % 30]}{VIN_CHARS[m // 1_000_000]}{m % 1_000_000:06d}"
        vin = body[:8] + vin_check_char(body) + body[9:]
        vtype = category.vehicle_types[_below(rng, len(category.vehicle_types))]
        use = use_nature or category.use_natures[_below(rng, len(category.use_natures))]
        axles = category.axles[_below(rng, len(category.axles))]
        if category.mass_kg == (0, 0):
            mass = TRUCK_MASS.get(axles, 25_000)
        else:
            mass = _between(rng, *category.mass_kg) // 5 * 5
        load = _between(rng, *category.load_kg) // 50 * 50 if category.load_kg[1] else 0
        if category.mass_kg == (0, 0) and category.key not in ("tractor", "dg_tractor"):
            load = min(load, mass - 7_000)
        passengers = 5 if vtype == "K33" else _between(rng, *category.passengers)
        if vtype == "K21":
            passengers = min(passengers, 19)
            mass = min(mass, 9_000)
        # due dates after the inspection rule; every 47th vehicle that had a due date missed it
        due = self.next_due(reg_date, category.inspection_rule)
        overdue = 0
        if due[0] is not None:
            self.overdue_counter += 1
            if self.overdue_counter % 47 == 5:
                overdue = due[0].toordinal()
        inspection_due = self.iso(overdue) if overdue else due[1].isoformat()
        insurance = add_years(reg_date, self.as_of.year - reg_date.year)
        if insurance <= self.as_of:
            insurance = add_years(insurance, 1)
        if self.vehicle_serial % 61 == 7:
            insurance = add_years(insurance, -1)  # planted: insurance lapsed
        row = [plate, plate_type, vin, vtype, use, owner, operator, passengers, load, mass, axles,
               reg_date.isoformat(), inspection_due, insurance.isoformat(), "A"]
        return _Vehicle(plate, plate_type, category, registered, overdue), row

    def next_due(self, registered: date, rule: str) -> tuple[date | None, date]:
        """(the last due date on or before as_of or None, the next due date after as_of)."""
        previous: date | None = None
        due = registered
        months = 0
        for until_years, interval in INSPECTION_RULES[rule]:
            while months + interval <= until_years * 12:
                months += interval
                due = add_months(registered, months)
                if due > self.as_of:
                    return previous, due
                previous = due
        raise AssertionError("inspection rule never ends")

    def private_vehicle(self, rng: Random, person: int, id_number: str, district: District, category: Category,
                        licence_first: int) -> None:
        earliest = max(licence_first, date(2008, 1, 1).toordinal())
        registered = _between(rng, earliest, self.as_of_ord - 1) if earliest < self.as_of_ord else self.as_of_ord - 1
        nev = False
        if category.key == "car":
            year = date.fromordinal(registered).year
            nev = rng.random() < {2017: 0.03, 2018: 0.04, 2019: 0.05, 2020: 0.08, 2021: 0.15, 2022: 0.25,
                                  2023: 0.35, 2024: 0.45}.get(year, 0.0 if year < 2017 else 0.5)
        vehicle, row = self.new_vehicle(rng, category, registered, id_number, "", nev=nev)
        self.out_vehicles.write(row)
        self.history(rng, vehicle, [(registered, self.as_of_ord, person)], 1.0, "", district.code, borrow=True)

    # ---------------------------------------------------------------------------------- fleets

    def fleets(self) -> None:
        rng = self.rng("fleets")
        employments = _Out(self.path("employments"), COLUMNS["employments"])
        safety = _Out(self.path("safety_records"), COLUMNS["safety_records"])
        months = []
        month = date(self.start.year, self.start.month, 1)
        while month <= self.as_of:
            months.append(month)
            month = add_months(month, 1)
        for done, company in enumerate(self.companies):
            self.company_fleet(rng, company, employments)
            if company.kind != "other":
                self.company_records(rng, company, months, safety)
            if done % 200 == 0:
                self.progress("fleets", done, len(self.companies))
        employments.close()
        safety.close()
        self.counts["employments"] = employments.rows
        self.counts["safety_records"] = safety.rows
        self.progress("fleets", len(self.companies), len(self.companies))

    def company_fleet(self, rng: Random, company: _Company, employments: _Out) -> None:
        start_ord, as_of_ord = self.start_ord, self.as_of_ord
        drivers = [self.slots[n] for n in company.slots]
        for slot in drivers:
            if slot.role in ("escort", "safety_manager"):
                continue
            category = CATEGORIES[slot.category]
            # a vehicle whose driver changes company is older than the history, so both jobs start before
            registered = _between(rng, as_of_ord - 12 * 365, start_ord - 1 if slot.swap_day else as_of_ord - 60)
            person_id = self.person_id(slot.person)
            owner, operator = (person_id, company.uscc) if slot.owned_by_driver else (company.uscc, "")
            nev = category.key == "city_bus" and registered >= NEV_PLATES_FROM.toordinal() and rng.random() < 0.6
            # a company outside road transport runs its trucks for itself: 非营运
            use = "A" if company.kind == "other" else ""
            vehicle, row = self.new_vehicle(rng, category, registered, owner, operator, nev=nev, use_nature=use)
            self.out_vehicles.write(row)
            company.vehicles += 1
            # the driver started when the vehicle came or some time before the history began
            licence_ready = self.l_first[slot.person] + 365
            slot.start = max(licence_ready, registered if registered >= start_ord
                             else _between(rng, registered, start_ord - 1))
            segments: list[tuple[int, int, int]]
            if slot.swap_day:
                successor = self.slots[slot.successor]
                segments = [(registered, slot.swap_day - 1, slot.person),
                            (slot.swap_day, as_of_ord, successor.person)]
            else:
                segments = [(registered, as_of_ord, slot.person)]
            if slot.start > registered:
                segments.insert(0, (registered, slot.start - 1, -1))
                segments[1] = (slot.start, segments[1][1], segments[1][2])
            if category.trailer:
                trailer, trailer_row = self.new_vehicle(rng, CATEGORIES[category.trailer], registered, owner,
                                                        operator)
                self.out_vehicles.write(trailer_row)
                company.vehicles += 1
                self.periodic_inspections(rng, trailer, company)
            self.history(rng, vehicle, segments, company.risk, company.uscc, company.district.code, borrow=False)
            self.periodic_inspections(rng, vehicle, company)
        # employment rows: each job from its start; a swapped driver moves to the other company
        for slot in drivers:
            if slot.role in ("driver", "instructor"):
                if slot.swap_day:
                    employments.write((self.person_id(slot.person), company.uscc, slot.role, self.iso(slot.start),
                                       self.iso(slot.swap_day - 1)))
                    other = self.companies[self.slots[slot.successor].company]
                    employments.write((self.person_id(slot.person), other.uscc, slot.role,
                                       self.iso(slot.swap_day), ""))
                else:
                    employments.write((self.person_id(slot.person), company.uscc, slot.role, self.iso(slot.start), ""))
            else:
                start = _between(rng, as_of_ord - 10 * 365, as_of_ord - 30)
                employments.write((self.person_id(slot.person), company.uscc, slot.role, self.iso(start), ""))
        if company.kind != "other":
            for year in range(HISTORY_YEARS):
                day = _between(rng, start_ord + 365 * year, min(as_of_ord, start_ord + 365 * (year + 1) - 1))
                defects = self.defects(rng, DEFECTS_COMPANY, 0.5 * company.risk)
                oos = defects != "" and rng.random() < min(0.5, 0.08 * company.risk)
                self.inspection_seq += 1
                self.out_inspections.write((f"I{self.inspection_seq:09d}", self.iso(day), "company_audit", "", "", "",
                                            company.uscc, defects, "true" if oos else "false"))

    def company_records(self, rng: Random, company: _Company, months: list[date], out: _Out) -> None:
        """Monthly safety records: better cultures train more, check more and watch more."""
        u = company.risk
        drivers = sum(1 for n in company.slots if self.slots[n].role in ("driver", "instructor"))
        vehicles = max(1, company.vehicles)
        for month in months:
            training = drivers * 2.0 / math.sqrt(u) * rng.lognormvariate(-0.08, 0.4)
            checks = _poisson(rng, min(60.0, vehicles * 0.8 / math.sqrt(u))) if vehicles < 60 else \
                round(vehicles * 0.8 / math.sqrt(u) * rng.uniform(0.8, 1.2))
            staff = 0 if vehicles <= 4 and rng.random() < 0.7 else max(1, round(vehicles / 40 / u ** 0.3))
            out.write((company.uscc, f"{month.year}-{month.month:02d}", f"{training:.1f}", checks, staff))

    def defects(self, rng: Random, codes: tuple[str, ...], mean: float) -> str:
        count = min(len(codes), _poisson(rng, mean))
        if not count:
            return ""
        return " ".join(sorted(rng.sample(codes, count)))

    def periodic_inspections(self, rng: Random, vehicle: _Vehicle, company: _Company) -> None:
        registered = date.fromordinal(vehicle.registered)
        months = 0
        for until_years, interval in INSPECTION_RULES[vehicle.category.inspection_rule]:
            while months + interval <= until_years * 12:
                months += interval
                due = add_months(registered, months).toordinal()
                if due > self.as_of_ord:
                    return
                if due < self.start_ord or due == vehicle.overdue_due:
                    continue
                age = months / 12
                defects = self.defects(rng, DEFECTS_VEHICLE, 0.15 * company.risk * (1 + age / 8))
                failed = defects != "" and rng.random() < min(0.6, 0.1 * company.risk)
                self.inspection_seq += 1
                self.out_inspections.write((f"I{self.inspection_seq:09d}", self.iso(due - _between(rng, 0, 25)),
                                            "periodic", vehicle.plate, vehicle.plate_type, "", company.uscc,
                                            defects, "true" if failed else "false"))

    # --------------------------------------------------------------------------------- events

    def history(self, rng: Random, vehicle: _Vehicle, segments: list[tuple[int, int, int]], company_risk: float,
                uscc: str, home: str, borrow: bool) -> None:
        """Three years of what happened to one vehicle, driver by driver."""
        r = rng.random
        category = vehicle.category
        start_ord, as_of_ord = self.start_ord, self.as_of_ord
        last_violation = -10_000
        risk_array = self.p_risk
        for first, last, person in segments:
            first = max(first, start_ord)
            last = min(last, as_of_ord)
            if first > last:
                continue
            z = risk_array[person] if person >= 0 else 1.0
            risk = z * company_risk
            for day in _event_days(rng, category.violations_per_year * risk / 365.25, first, last):
                driver = person
                if borrow and r() < 0.1 and self.recent_drivers:
                    driver = self.recent_drivers[_below(rng, len(self.recent_drivers))]
                behaviour = self.pick_behaviour(rng, category)
                self.violation(rng, vehicle, day, behaviour, driver, home, last_violation)
                last_violation = day
            for day in _event_days(rng, category.crashes_per_year * risk / 365.25, first, last):
                self.accident(rng, vehicle, day, person)
            if category.key_vehicle:
                self.gps_alarms(rng, vehicle, first, last, risk, company_risk)
            if category.commercial and uscc:
                for day in _event_days(rng, 0.5 / 365.25, first, last):
                    defects = self.defects(rng, DEFECTS_VEHICLE, 0.25 * company_risk * math.sqrt(z))
                    oos = defects != "" and r() < min(0.8, 0.12 * risk)
                    self.inspection_seq += 1
                    self.out_inspections.write((f"I{self.inspection_seq:09d}", self.iso(day), "roadside", vehicle.plate,
                                                vehicle.plate_type, self.person_id(person) if person >= 0 else "",
                                                uscc, defects, "true" if oos else "false"))
        if vehicle.overdue_due and vehicle.overdue_due < as_of_ord - 10:
            # an overdue vehicle keeps driving and is caught at a checkpoint
            person = segments[-1][2]
            for _ in range(1 + (r() < 0.4)):
                day = _between(rng, max(vehicle.overdue_due + 5, start_ord), as_of_ord)
                self.violation(rng, vehicle, day, "overdue_inspection", person, home, last_violation)
        driver_id = self.person_id(segments[-1][2]) if segments[-1][2] >= 0 else ""
        if len(self.recent_vehicles) < 512:
            self.recent_vehicles.append((vehicle.plate, vehicle.plate_type, driver_id))
        else:
            self.recent_vehicles[_below(rng, 512)] = (vehicle.plate, vehicle.plate_type, driver_id)

    def pick_behaviour(self, rng: Random, category: Category) -> str:
        behaviours, cum = self.behaviour_cum[category.behaviours]
        return behaviours[bisect(cum, rng.random() * cum[-1])]

    def timestamp(self, rng: Random, day: int) -> tuple[str, int]:
        hour = bisect(self.hour_cum, rng.random() * self.hour_cum[-1])
        seconds = hour * 3600 + _below(rng, 3600)
        return self.stamp(day, seconds), seconds

    def stamp(self, day: int, seconds: int) -> str:
        day += seconds // 86_400
        seconds %= 86_400
        return f"{self.iso(day)}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}+08:00"

    def violation(self, rng: Random, vehicle: _Vehicle, day: int, behaviour: str, driver: int, home: str,
                  last_violation: int) -> None:
        r = rng.random
        sources, cum = self.source_cum[behaviour]
        source = sources[bisect(cum, r() * cum[-1])]
        camera_id, region = "", home
        if source:
            pool = self.cameras[source]
            if pool:
                camera = pool[_below(rng, len(pool))]
                if camera[2] <= day:
                    camera_id, region = camera[0], camera[1]
        if not camera_id and r() < 0.3:
            region = DISTRICT_CODES[_below(rng, len(DISTRICT_CODES))]
        if camera_id and r() < 0.38:
            driver = -1  # nobody came forward for a camera capture
        occurred, seconds = self.timestamp(rng, day)
        if camera_id:
            decided_day = day + 2 + int(rng.expovariate(1 / 12))
            decided_seconds = 32_400 + _below(rng, 28_800)
        else:
            decided_day, decided_seconds = day, seconds + 600 + _below(rng, 5_400)
            if decided_seconds >= 86_400:
                decided_day, decided_seconds = decided_day + 1, decided_seconds - 86_400
        self.violation_seq += 1
        driver_id = self.person_id(driver) if driver >= 0 else ""
        if decided_day > self.as_of_ord:
            self.out_violations.write((f"V{self.violation_seq:010d}", occurred, "", behaviour, vehicle.plate,
                                       vehicle.plate_type, driver_id, region, "", "", "", camera_id))
            return
        roll = r()
        if roll < 0.01:
            outcome, fine, points = "no_penalty", 0, 0
        elif behaviour in WARNABLE_FIRST_OFFENCES and day - last_violation > 365 and roll < 0.45:
            outcome, fine, points = "warning", 0, 0
        else:
            outcome = "fine"
            if behaviour == "speeding":
                tier = r()
                _, points, fine = next(t for t in SPEEDING_TIERS if tier <= t[0])
            else:
                points, fine = PENALTIES[behaviour]
                if behaviour == "fatigue_driving" and vehicle.category.behaviours == "bus":
                    points = 9
                if behaviour == "illegal_parking" and region == HARSH_PARKING_REGION and r() < 0.4:
                    fine = 200
        decided = self.stamp(decided_day, decided_seconds)
        if driver >= 0 and points and decided_day >= self.l_cycle[driver]:
            self.l_points[driver] = min(65_535, self.l_points[driver] + points)
        self.out_violations.write((f"V{self.violation_seq:010d}", occurred, decided, behaviour, vehicle.plate,
                                   vehicle.plate_type, driver_id, region, outcome, fine, points, camera_id))

    def accident(self, rng: Random, vehicle: _Vehicle, day: int, person: int) -> None:
        r = rng.random
        occurred, seconds = self.timestamp(rng, day)
        reported = self.stamp(day, seconds + 120 + int(rng.expovariate(1 / 900)))
        edge = self.edges[_below(rng, len(self.edges))]
        a, b = self.nodes[edge["from"]], self.nodes[edge["to"]]
        t = r()
        lon = a["lon"] + (b["lon"] - a["lon"]) * t + rng.uniform(-0.0005, 0.0005)
        lat = a["lat"] + (b["lat"] - a["lat"]) * t + rng.uniform(-0.0005, 0.0005)
        roll = r()
        fatal, injury = (0.04, 0.29) if vehicle.category.heavy else (0.015, 0.165)  # cumulative shares
        if roll < fatal:
            severity, deaths, injuries = "fatal", 1 + (r() < 0.2), _poisson(rng, 1.0)
        elif roll < injury:
            severity, deaths, injuries = "injury", 0, 1 + _poisson(rng, 2.0 if vehicle.category.key.endswith("bus")
                                                                  else 0.4)
        else:
            severity, deaths, injuries = "property", 0, 0
        parties = []
        single = r() < 0.25 or not self.recent_vehicles
        if single:
            liability = "full"
        else:
            roll = r()
            liability = "full" if roll < 0.35 else "main" if roll < 0.8 else "equal"
        parties.append({"plate_number": vehicle.plate, "plate_type": vehicle.plate_type,
                        "driver_id": self.person_id(person) if person >= 0 else "", "liability": liability})
        if not single:
            plate, plate_type, driver_id = self.recent_vehicles[_below(rng, len(self.recent_vehicles))]
            if plate != vehicle.plate:
                other = {"full": "none", "main": "minor", "equal": "equal"}[liability]
                parties.append({"plate_number": plate, "plate_type": plate_type, "driver_id": driver_id,
                                "liability": other})
        self.accident_seq += 1
        record = {"accident_id": f"A{self.accident_seq:09d}", "occurred_at": occurred, "reported_at": reported,
                  "lon": round(lon, 6), "lat": round(lat, 6), "severity": severity, "injuries": injuries,
                  "deaths": deaths, "parties": parties}
        self.accidents_handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.accident_rows += 1

    def gps_alarms(self, rng: Random, vehicle: _Vehicle, first: int, last: int, risk: float,
                   company_risk: float) -> None:
        """Daily alarm counts of the satellite terminal: fatigue and speeding follow the driver's risk,
        going offline follows the company's monitoring culture."""
        per_day = 1 / 30.44
        alarms: list[tuple[int, str, int, int]] = []
        for kind, rate, minutes in (("fatigue", 0.15 * risk, (5, 120)), ("speeding", 0.3 * risk, (1, 30)),
                                    ("offline", 0.1 * company_risk, (30, 600))):
            previous = -1
            for day in _event_days(rng, rate * per_day, first, last):
                spent = _between(rng, *minutes)
                count = 1 + _poisson(rng, 0.5)
                if day == previous:
                    d, k, c, m = alarms[-1]
                    alarms[-1] = (d, k, c + count, m + spent)
                else:
                    alarms.append((day, kind, count, spent))
                previous = day
        alarms.sort()
        for day, kind, count, spent in alarms:
            self.out_gps.write((self.iso(day), vehicle.plate, vehicle.plate_type, kind, count, spent))

    # -------------------------------------------------------------------------------- licences

    def licences(self) -> None:
        out = _Out(self.path("licences"), COLUMNS["licences"])
        n_people = self.spec["people"]
        as_of = self.as_of
        for i in range(n_people):
            first_ord = self.l_first[i]
            if not first_ord:
                continue
            first = date.fromordinal(first_ord)
            renewal1, renewal2 = add_years(first, 6), add_years(first, 16)
            if as_of < renewal1:
                valid_from, valid_to = first.isoformat(), renewal1.isoformat()
            elif as_of < renewal2:
                valid_from, valid_to = renewal1.isoformat(), renewal2.isoformat()
            else:
                valid_from, valid_to = renewal2.isoformat(), LONG_TERM
            school = self.l_school[i]
            out.write((self.person_id(i), self.class_strings[self.l_classes[i]], first.isoformat(), valid_from,
                       valid_to, "A", self.companies[school].uscc if school >= 0 else "", self.l_points[i],
                       self.iso(self.l_cycle[i])))
        out.close()
        self.counts["licences"] = out.rows
        self.progress("licences", out.rows, out.rows)

    # ----------------------------------------------------------------------------------- truth

    def truth(self) -> None:
        """The planted latent values, for tests and for judging a risk model; never read by the platform."""
        companies = {
            c.uscc: {"name": c.name, "kind": c.kind, "risk": c.risk, "label": c.label, "vehicles": c.vehicles,
                     "small": c.vehicles <= 4}
            for c in self.companies
        }
        header = {
            "seed": self.seed,
            "size": self.size,
            "as_of": self.as_of.isoformat(),
            "history_start": self.start.isoformat(),
            "model": {
                "risk": "event rate = base rate of the vehicle category x driver risk z x company risk u",
                "driver_sigma": DRIVER_SIGMA,
                "company_sigma": COMPANY_SIGMA,
                "small_company_factor": SMALL_COMPANY_FACTOR,
                "risky_school_effect": RISKY_SCHOOL_EFFECT,
                "base_rates_per_vehicle_year": {
                    k: {"violations": c.violations_per_year, "crashes": c.crashes_per_year}
                    for k, c in CATEGORIES.items() if c.violations_per_year
                },
            },
            "high_risk_companies": [c.uscc for c in self.companies if c.label == "high"],
            "low_risk_companies": [c.uscc for c in self.companies if c.label == "low"],
            "risky_school": next((c.uscc for c in self.companies if c.label == "risky_school"), ""),
            "harsh_parking_region": HARSH_PARKING_REGION,
            "companies": companies,
        }
        with self.path("truth").open("w", encoding="utf-8", newline="\n") as handle:
            text = json.dumps(header, ensure_ascii=False, indent=1)
            handle.write(text[:-2] + ',\n "drivers": {')  # drop the closing "\n}" and stream the drivers
            separator = "\n  "
            for i in range(self.spec["people"]):
                if self.l_first[i]:
                    handle.write(f'{separator}"{self.person_id(i)}": {self.p_risk[i]:.4f}')
                    separator = ",\n  "
            handle.write("\n }\n}\n")
        self.progress("truth", 1, 1)

    # -------------------------------------------------------------------------------- accounts

    def accounts(self) -> dict[str, dict]:
        rng = self.rng("accounts")

        def staff_name() -> str:
            surname = self.surnames[bisect(self.surname_cum, rng.random() * self.surname_cum[-1])]
            chars = names.GIVEN_MALE if rng.random() < 0.6 else names.GIVEN_FEMALE
            return surname + chars[_below(rng, len(chars))] + chars[_below(rng, len(chars))]

        company = next(c for c in self.companies if c.name == COMPANY_ACCOUNT)
        accounts: dict[str, dict] = {
            "citizen": {"id_number": self.person_id(self.citizen), "display_name": self.citizen_name},
            "company": {"uscc": company.uscc, "display_name": company.name},
        }
        units = {"clerk": self.org_codes["vehicle_admin"], "officer": self.org_codes["brigade"],
                 "legal_reviewer": self.org_codes["detachment"], "supervisor": self.org_codes["detachment"],
                 "partner": self.partner_codes["transport"], "command": self.org_codes["command"],
                 "admin": self.org_codes["detachment"]}
        for role, org_code in units.items():
            accounts[role] = {"org_code": org_code, "display_name": f"{names.STAFF_TITLES[role]} {staff_name()}"}
        return {role: {"username": role, "password": demo_password(role), **accounts[role]}
                for role in DEMO_ACCOUNT_ROLES}
