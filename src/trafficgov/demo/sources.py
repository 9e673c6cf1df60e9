"""演示数据来源 — the demo city's records as each department's system holds them, disagreeing the way
real ones do: their own code tables and column names, plates with or without the province character,
full-width characters, dates as text, missing IDs, typos in names and company names.

From a built demo city folder, `write_sources` writes `<city>/sources/<source>.(csv|jsonl)` for every
source system of hub/data/sources/, and `truth.json`: which demo entity each source record is about and
which records were planted broken (they must end in quarantine). Deterministic for a seed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from trafficgov.demo.city import FILES
from trafficgov.demo.corrupt import Corruptor
from trafficgov.registry.identifiers import is_resident_id

# 违法代码 of the demo bureau's violation system (see hub/data/sources/tp_violation.yaml).
VIOLATION_CODES = {
    "speeding": "6050", "red_light": "1625", "phone_use": "1223", "no_seatbelt": "6011", "illegal_parking": "1039",
    "not_yielding_to_pedestrians": "1357", "improper_lane_expressway": "4309", "drink_driving": "1711",
    "fatigue_driving": "1123", "overload_passengers": "1101", "overload_freight": "1230", "drunk_driving": "1712",
    "overdue_inspection": "1301",
}
OUTCOME_CODES = {"": "0", "fine": "1", "warning": "2", "no_penalty": "3"}
SEVERITY_CODES = {"fatal": "1", "injury": "2", "property": "3"}
LIABILITY_CODES = {"full": "1", "main": "2", "equal": "3", "minor": "4", "none": "5"}
GPS_KINDS = {"speeding": "0001", "fatigue": "0002", "offline": "0101"}
INSURER_PLATE_LABELS = {"01": "大型汽车", "02": "小型汽车", "07": "普通摩托车", "15": "挂车", "16": "教练汽车",
                        "51": "大型新能源汽车", "52": "小型新能源汽车"}
PLATE_COLOURS = {"01": "黄", "02": "蓝", "15": "黄", "16": "黄", "51": "黄绿", "52": "渐变绿"}
GPS_COLOURS = {"01": "2", "02": "1", "15": "2", "16": "2", "51": "5", "52": "5"}
INSURERS = ("中国人民财产保险股份有限公司济南市分公司", "中国平安财产保险股份有限公司山东分公司",
            "中国太平洋财产保险股份有限公司济南中心支公司", "中华联合财产保险股份有限公司济南中心支公司")
STATIONS = (("J01", "济南市槐荫区机动车检测站有限公司"), ("J02", "济南章丘鸿运机动车检测有限公司"),
            ("J03", "济南历城恒通机动车检验检测有限公司"))
COMMERCIAL_USES = {"B", "C", "E", "F", "R"}
TRUCK_TYPES = ("H", "Q", "B")  # 货车, 牵引车, 挂车: the vehicles of the 三检合一
MODELS = {"K": ("大众牌SVW7182", "丰田牌GTM7201", "比亚迪牌BYD7005", "吉利牌MR7152"), "H": ("重汽牌ZZ1257", "解放牌CA1250", "福田牌BJ1049"),
          "Q": ("重汽牌ZZ4257", "解放牌CA4250"), "B": ("鲁郓牌LHJ9400", "梁山牌LSY9401"), "M": ("五羊-本田牌WH125", "雅马哈牌JYM125")}

SOURCE_FILES = {
    "tp_violation": "tp_violation.csv", "tp_vehicle": "tp_vehicle.csv", "tp_accident": "tp_accident.jsonl",
    "tr_permit": "tr_permit.csv", "tr_gps": "tr_gps.csv", "mr_business": "mr_business.csv",
    "tax_invoice": "tax_invoice.csv", "ins_ctpl": "ins_ctpl.csv", "insp_truck": "insp_truck.jsonl",
}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _write_csv(path: Path, columns: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any] | str]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")


def _local(iso: str) -> str:
    """`2024-05-14T00:54:26+08:00` as a Beijing-time system writes it: `2024-05-14 00:54:26`."""
    return iso[:19].replace("T", " ") if iso else ""


def _batch(day: date, hour: int = 2) -> str:
    """The nightly export that took a record: many records share one update time, as real ones do."""
    return f"{(day + timedelta(days=1)).isoformat()} {hour:02d}:00:00"


class _City:
    def __init__(self, city_dir: Path) -> None:
        self.people = {row["id_number"]: row for row in _read_csv(city_dir / FILES["people"])}
        self.companies = {row["uscc"]: row for row in _read_csv(city_dir / FILES["companies"])}
        self.vehicles = _read_csv(city_dir / FILES["vehicles"])
        self.by_plate = {(v["plate_number"], v["plate_type"]): v for v in self.vehicles}
        self.violations = _read_csv(city_dir / FILES["violations"])
        self.inspections = _read_csv(city_dir / FILES["inspections"])
        self.gps = _read_csv(city_dir / FILES["gps_alarms"])
        self.employments = _read_csv(city_dir / FILES["employments"])
        with (city_dir / FILES["accidents"]).open(encoding="utf-8") as handle:
            self.accidents = [json.loads(line) for line in handle if line.strip()]

    def owner_name(self, owner_id: str) -> str:
        if owner_id in self.people:
            return self.people[owner_id]["name"]
        if owner_id in self.companies:
            return self.companies[owner_id]["name"]
        return ""


def _owner_truth(owner_id: str) -> dict[str, Any]:
    return {"person": owner_id} if is_resident_id(owner_id) else {"company": owner_id}


class _Writer:
    """One source's rows and the truth about each."""

    def __init__(self, seed: int, source: str) -> None:
        self.rng = Random(f"{seed}:{source}")
        self.corrupt = Corruptor(self.rng)
        self.truth: dict[str, dict[str, Any]] = {}
        self.broken: list[dict[str, Any]] = []  # planted records without an id of their own

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def note(self, source_id: str, kind: str, *, broken: str | None = None, **entities: Any) -> None:
        self.truth[source_id] = {"kind": kind, **{k: v for k, v in entities.items() if v}, "quarantine": broken}

    def name(self, name: str, p: float = 0.08) -> str:
        return self.corrupt.homophone(name) if name and self.chance(p) else name

    def company(self, name: str, p: float = 0.25, typo: float = 0.06) -> str:
        """The company's name as another system writes it: with or without its legal form or city (p), or with a
        homophone typed for one character (typo) — only the typo is a real disagreement."""
        if not name:
            return name
        if self.chance(typo):
            return self.corrupt.homophone(name)
        return self.corrupt.company_variant(name) if self.chance(p) else name

    def plate(self, plate: str, p: float = 0.3) -> str:
        return self.corrupt.plate_variant(plate) if self.chance(p) else plate


def _violations(city: _City, seed: int, out: Path) -> _Writer:
    w = _Writer(seed, "tp_violation")
    rows = []
    for v in city.violations:
        decided = v["decided_at"] or v["occurred_at"]
        row = {
            "wfbh": v["violation_id"], "wfsj": _local(v["occurred_at"]), "clsj": _local(v["decided_at"]),
            "wfxw": VIOLATION_CODES[v["behavior"]], "hphm": v["plate_number"], "hpzl": v["plate_type"],
            "jszh": v["driver_id"], "xzqh": v["region"], "cljg": OUTCOME_CODES[v["outcome"]], "fkje": v["fine_yuan"],
            "wfjfs": v["points"], "sbbh": v["camera_id"], "gxsj": _batch(date.fromisoformat(decided[:10])),
        }
        broken = None
        if w.chance(0.005):
            row["wfxw"], broken = "9999", "unknown_code"
        elif v["driver_id"] and w.chance(0.005):
            # a typed driver's ID: kept as sent (the record stands on its violation number), reported by the
            # quality check as invalid, and linked to the driver by entity resolution
            row["jszh"] = w.corrupt.id_typo(v["driver_id"])
        rows.append(row)
        w.note(v["violation_id"], "violations", broken=broken, person=v["driver_id"], vehicle=[v["plate_number"], v["plate_type"]])
    _write_csv(out / SOURCE_FILES["tp_violation"], tuple(rows[0]), rows)
    return w


def _vehicles(city: _City, seed: int, out: Path) -> _Writer:
    w = _Writer(seed, "tp_vehicle")
    rows = []
    for i, v in enumerate(city.vehicles, start=1):
        xh = f"370100{i:08d}"
        row = {
            "xh": xh, "hphm": v["plate_number"], "hpzl": v["plate_type"], "clsbdh": v["vin"], "cllx": v["vehicle_type"],
            "syxz": v["use_nature"], "syr": city.owner_name(v["owner_id"]), "sfzmhm": v["owner_id"],
            "hdzk": v["rated_passengers"], "hdzzl": v["rated_load_kg"], "zzl": v["max_total_mass_kg"], "zs": v["axles"],
            "ccdjrq": v["registered_on"], "yxqz": v["inspection_due"], "zt": v["status"],
            "gxsj": _batch(date.fromisoformat(v["registered_on"]), 3),
        }
        broken = None
        if w.chance(0.01):
            row["clsbdh"], broken = "", "missing_required"
        rows.append(row)
        w.note(xh, "vehicles", broken=broken, vehicle=[v["plate_number"], v["plate_type"]], **_owner_truth(v["owner_id"]))
    _write_csv(out / SOURCE_FILES["tp_vehicle"], tuple(rows[0]), rows)
    return w


def _accidents(city: _City, seed: int, out: Path) -> _Writer:
    w = _Writer(seed, "tp_accident")
    rows: list[dict[str, Any] | str] = []
    for a in city.accidents:
        occurred = datetime.fromisoformat(a["occurred_at"])
        row = {
            "sgbh": a["accident_id"], "sgsj": f"{occurred:%Y年%m月%d日%H时%M分}", "sgdj": SEVERITY_CODES[a["severity"]],
            "ssrs": a["injuries"], "swrs": a["deaths"], "jd": a["lon"], "wd": a["lat"],
            "dsr": [{"hphm": w.plate(p["plate_number"], 0.1), "hpzl": p["plate_type"], "sfzmhm": p["driver_id"],
                     "zrlx": LIABILITY_CODES[p["liability"]]} for p in a["parties"]],
            "gxsj": _local(a["reported_at"]),
        }
        broken = None
        if w.chance(0.02):
            row.pop("sgdj")
            broken = "missing_required"
        rows.append(row)
        w.note(a["accident_id"], "accidents", broken=broken, people=[p["driver_id"] for p in a["parties"] if p["driver_id"]],
               vehicles=[[p["plate_number"], p["plate_type"]] for p in a["parties"]])
    for position in sorted(w.rng.sample(range(len(rows)), min(2, len(rows))), reverse=True):
        rows.insert(position, f'{{"sgbh": "A-broken-{position}", "sgsj": 2025年')  # a line cut off in the export
        w.broken.append({"kind": "accidents", "quarantine": "garbage"})
    _write_jsonl(out / SOURCE_FILES["tp_accident"], rows)
    return w


def _permits(city: _City, seed: int, out: Path) -> _Writer:
    w = _Writer(seed, "tr_permit")
    rows = []
    n = 0
    for v in city.vehicles:
        holder = v["operator_uscc"] or (v["owner_id"] if v["owner_id"] in city.companies else "")
        if not holder or v["use_nature"] not in COMMERCIAL_USES:
            continue
        n += 1
        company = city.companies[holder]
        registered = date.fromisoformat(v["registered_on"])
        issued = registered + timedelta(days=w.rng.randrange(3, 20))
        yszh = f"鲁交运管济字370100{n:06d}号"
        load_t = int(v["rated_load_kg"] or 0) / 1000
        row = {
            "yszh": yszh, "jyxkzh": company["permit_number"], "yhmc": w.company(company["name"], 0.3),
            "tyshxydm": "" if w.chance(0.15) else holder, "cph": w.plate(v["plate_number"], 0.4),
            "cpys": PLATE_COLOURS.get(v["plate_type"], "蓝"), "hdzzl": f"{load_t:g}", "zws": v["rated_passengers"],
            "fzrq": w.corrupt.date_text(issued), "yxqz": w.corrupt.date_text(issued + timedelta(days=365 * 6)),
            "zt": "营运", "gxsj": _batch(issued, 1),
        }
        broken = None
        if w.chance(0.03) or n == 2:
            row["cpys"], broken = "紫", "unknown_code"
            row["cph"] = v["plate_number"]  # a 挂/学 plate would name its type itself
            if v["plate_number"].endswith(("挂", "学")) or len(v["plate_number"]) == 8:
                broken = None  # such a plate names its type itself
        rows.append(row)
        w.note(yszh, "operating_permits", broken=broken, company=holder, vehicle=[v["plate_number"], v["plate_type"]])
    _write_csv(out / SOURCE_FILES["tr_permit"], tuple(rows[0]), rows)
    return w


def _gps(city: _City, seed: int, out: Path) -> _Writer:
    w = _Writer(seed, "tr_gps")
    rows = []
    for n, g in enumerate(city.gps, start=1):
        day = date.fromisoformat(g["date"])
        bjbh = f"GPS{n:010d}"
        plate = g["plate_number"]
        row = {
            "bjbh": bjbh, "bjrq": day.strftime("%Y%m%d"), "cph": w.corrupt.fullwidth(plate) if w.chance(0.1) else plate,
            "cpys": GPS_COLOURS.get(g["plate_type"], "1"), "bjlx": GPS_KINDS[g["kind"]], "bjcs": g["count"],
            "cxsc": int(g["minutes"]) * 60, "gxsj": f"{day.isoformat()} 23:59:59",
        }
        broken = None
        if w.chance(0.005):
            row["bjlx"], broken = "0999", "unknown_code"
        rows.append(row)
        w.note(bjbh, "gps_alarms", broken=broken, vehicle=[plate, g["plate_type"]])
    _write_csv(out / SOURCE_FILES["tr_gps"], tuple(rows[0]), rows)
    return w


def _business(city: _City, seed: int, out: Path) -> _Writer:
    w = _Writer(seed, "mr_business")
    managers: dict[str, str] = {}
    for e in city.employments:
        if e["role"] == "safety_manager" and e["uscc"] not in managers and e["id_number"] in city.people:
            managers[e["uscc"]] = e["id_number"]
    rows = []
    for i, (uscc, c) in enumerate(sorted(city.companies.items())):
        established = date(2005 + w.rng.randrange(15), 1 + w.rng.randrange(12), 1 + w.rng.randrange(28))
        manager = managers.get(uscc, "")
        row = {
            "tyshxydm": uscc, "qymc": w.company(c["name"], 0.3),
            "fddbr": w.name(city.people[manager]["name"], 0.15) if manager else "",
            "zczb": str(w.rng.choice((50, 100, 200, 500, 1000, 3000))), "clrq": f"{established.year}年{established.month}月{established.day}日",
            "zs": c["address"], "djzt": w.rng.choice(("存续", "在营")), "gxsj": _batch(date(2026, 1, 1) + timedelta(days=i)),
        }
        broken = None
        if i == 0:
            row["zczb"], broken = "伍佰万元", "not_a_number"
        rows.append(row)
        w.note(uscc, "business_registrations", broken=broken, company=uscc, person=manager)
    _write_csv(out / SOURCE_FILES["mr_business"], tuple(rows[0]), rows)
    return w


def _invoices(city: _City, seed: int, out: Path) -> _Writer:
    w = _Writer(seed, "tax_invoice")
    rows = []
    for i, v in enumerate(city.vehicles, start=1):
        registered = date.fromisoformat(v["registered_on"])
        issued = registered - timedelta(days=w.rng.randrange(1, 15))
        owner = v["owner_id"]
        name = city.owner_name(owner)
        name = w.name(name) if owner in city.people else w.company(name, 0.2)
        fphm = f"{37001 + registered.year % 100:05d}{i:08d}"
        price = w.rng.randrange(60_000, 1_200_000) if v["vehicle_type"][0] != "M" else w.rng.randrange(6_000, 30_000)
        row = {
            "fphm": fphm, "kprq": w.corrupt.date_text(issued), "gmfmc": name, "gmfsbh": "" if w.chance(0.1) else owner,
            "clsbdh": v["vin"], "cpxh": w.rng.choice(MODELS.get(v["vehicle_type"][0], MODELS["K"])),
            "jshj": f"{price:,}.00", "gxsj": _batch(issued, 4),
        }
        broken = None
        if w.chance(0.01):
            row["kprq"], broken = "", "missing_required"
        rows.append(row)
        w.note(fphm, "purchase_invoices", broken=broken, vehicle=[v["plate_number"], v["plate_type"]], **_owner_truth(owner))
    _write_csv(out / SOURCE_FILES["tax_invoice"], tuple(rows[0]), rows)
    return w


def _policies(city: _City, seed: int, out: Path, as_of: date) -> _Writer:
    w = _Writer(seed, "ins_ctpl")
    rows = []
    n = 0
    for v in city.vehicles:
        if v["plate_type"] not in INSURER_PLATE_LABELS:
            continue
        expiry = date.fromisoformat(v["insurance_expiry"] or v["inspection_due"])
        owner = v["owner_id"]
        for years_back in (1, 0):  # last year's policy and the current one
            end = expiry.replace(year=expiry.year - years_back) if not (expiry.month == 2 and expiry.day == 29) else expiry - timedelta(days=365 * years_back)
            start = end - timedelta(days=365)
            if start > as_of:
                continue
            n += 1
            bdh = f"PDZA{start.year}3701{n:08d}"
            plate = v["plate_number"]
            if w.chance(0.1):
                plate = w.corrupt.fullwidth(plate)
            elif w.chance(0.1):
                plate = w.corrupt.plate_variant(plate)
            name = city.owner_name(owner)
            row = {
                "bdh": bdh, "bxgs": w.rng.choice(INSURERS), "hphm": plate, "hpzl": INSURER_PLATE_LABELS[v["plate_type"]],
                "cjh": "" if w.chance(0.05) else v["vin"],
                "tbr": w.name(name, 0.05) if owner in city.people else w.company(name, 0.2),
                "tbrzjhm": "" if w.chance(0.1) else owner, "qbrq": w.corrupt.date_text(start), "zbrq": w.corrupt.date_text(end),
                "bf": 95_000 if v["plate_type"] == "02" else 110_000 if v["plate_type"] == "01" else 18_000,
                "gxsj": f"{(start - timedelta(days=1)).isoformat()} 16:00:00",
            }
            broken = None
            if w.chance(0.01):
                row["zbrq"], broken = "未知", "bad_date"
            rows.append(row)
            w.note(bdh, "insurance_policies", broken=broken, vehicle=[v["plate_number"], v["plate_type"]], **_owner_truth(owner))
    _write_csv(out / SOURCE_FILES["ins_ctpl"], tuple(rows[0]), rows)
    return w


def _inspection_reports(city: _City, seed: int, out: Path) -> _Writer:
    w = _Writer(seed, "insp_truck")
    rows: list[dict[str, Any] | str] = []
    for n, i in enumerate(city.inspections, start=1):
        if i["kind"] != "periodic":
            continue
        v = city.by_plate.get((i["plate_number"], i["plate_type"]))
        if v is None or not v["vehicle_type"].startswith(TRUCK_TYPES):
            continue
        day = date.fromisoformat(i["date"])
        code, station = STATIONS[n % len(STATIONS)]
        report = f"{code}{day:%Y%m%d}{n:06d}"
        curb_t = max(0, int(v["max_total_mass_kg"] or 0) - int(v["rated_load_kg"] or 0)) / 1000
        failed = i["out_of_service"] == "true"
        row = {
            "bgbh": report, "jcjg": station, "jyrq": w.corrupt.date_text(day), "hphm": w.plate(v["plate_number"], 0.15),
            "hpzl": v["plate_type"], "clsbdh": v["vin"], "syrxydm": i["uscc"] or "",
            "aqjy": "不合格" if failed else "合格", "pfjy": "F" if w.chance(0.05) else "P",
            "zhxn": "不合格" if failed else w.rng.choice(("一级", "一级", "二级")), "zbzl": f"{curb_t:g}",
            "jyyxqz": (day + timedelta(days=365)).isoformat(), "gxsj": f"{day.isoformat()} 17:30:00",
        }
        rows.append(row)
        w.note(report, "inspection_reports", company=i["uscc"], vehicle=[v["plate_number"], v["plate_type"]])
    if rows:
        rows.insert(w.rng.randrange(len(rows)), "<html><body>502 Bad Gateway</body></html>")
        w.broken.append({"kind": "inspection_reports", "quarantine": "garbage"})
    _write_jsonl(out / SOURCE_FILES["insp_truck"], rows)
    return w


def write_sources(city_dir: Path, seed: int) -> dict[str, Path]:
    """Write every source system's export of the demo city in `city_dir` to `<city_dir>/sources/`.

    Returns source code -> file, plus "truth" -> truth.json (per source: each record id's kind, the demo
    entities it is about, and the planted fault that must put it in quarantine, or null).
    """
    city_dir = Path(city_dir)
    out = city_dir / "sources"
    out.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((city_dir / "manifest.json").read_text(encoding="utf-8"))
    as_of = date.fromisoformat(manifest["as_of"])
    city = _City(city_dir)
    writers = {
        "tp_violation": _violations(city, seed, out),
        "tp_vehicle": _vehicles(city, seed, out),
        "tp_accident": _accidents(city, seed, out),
        "tr_permit": _permits(city, seed, out),
        "tr_gps": _gps(city, seed, out),
        "mr_business": _business(city, seed, out),
        "tax_invoice": _invoices(city, seed, out),
        "ins_ctpl": _policies(city, seed, out, as_of),
        "insp_truck": _inspection_reports(city, seed, out),
    }
    truth = {
        "seed": seed,
        "sources": {
            code: {
                "file": SOURCE_FILES[code],
                "records": w.truth,
                "unidentified_broken": w.broken,
                "expected_quarantine": sum(1 for t in w.truth.values() if t["quarantine"]) + len(w.broken),
            }
            for code, w in writers.items()
        },
    }
    truth_path = out / "truth.json"
    truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return {**{code: out / SOURCE_FILES[code] for code in writers}, "truth": truth_path}
