"""实体解析 — find the records of two departments' systems that describe the same person, company or vehicle.

`link(kind, left, right)` first joins on a valid national key (resident ID number, USCC, VIN: equal on
both sides means the same entity, probability 1), then scores the other pairs with a Fellegi-Sunter model
(Splink on an in-memory DuckDB, or on Spark with `backend="spark"`) over normalised fields: names by pinyin,
IDs by edit distance, company names by their core, plates without the province character. Two records whose valid keys differ are never
linked: a swapped or dropped digit makes an ID number invalid, so two valid numbers are two people.
Parameters and thresholds are dated data (data/linkage.yaml). No store, no clock: a pure batch function.

Both backends run the same Splink settings, comparisons, blocking rules and training; only Splink's
database API differs, and the SQL functions a comparison level calls are named in the backend's own
dialect. The key join and the normalisation stay in Python on either. Spark is an optional extra
(`pip install 'trafficgov[spark]'`): pyspark is imported only when `backend="spark"` is asked for.
Two differences remain, both small: the Jaro-Winkler of Splink's Spark jar does not round Jaro's half
transpositions down (DuckDB's does), so a name or address with an odd count of them scores a little
lower there; and from `min_records_to_train` records a side, the u sample is drawn by the engine's own
hash, so the trained parameters differ slightly (FEBRL4: 4 870 links on DuckDB, 4 869 on Spark).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from trafficgov.credit.grade import at_version, check_no_overlap, parse_versions
from trafficgov.errors import FieldError
from trafficgov.hub import normalise as nz

KINDS = ("people", "companies", "vehicles")
KINDS_ZH = {"people": "人员", "companies": "企业", "vehicles": "车辆"}
DATA = Path(__file__).parent / "data"
Kind = Literal["people", "companies", "vehicles"]
BACKENDS = ("duckdb", "spark")
Backend = Literal["duckdb", "spark"]


@dataclass(frozen=True)
class Match:
    """关联结果 — two records taken for the same entity; `how` is the national key that joined them or "probabilistic"."""

    left_id: str
    right_id: str
    match_probability: float
    how: str


# ---------------------------------------------------------------- dated settings


class LinkageSettingsError(ValueError):
    """实体解析参数文件错误 — data/linkage.yaml must not be used; the message names the fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prior(_Strict):
    """Starting m and u probabilities of one comparison, one per non-null level."""

    m: list[float] = Field(min_length=2)
    u: list[float] = Field(min_length=2)

    @model_validator(mode="after")
    def _probabilities(self) -> Prior:
        if len(self.m) != len(self.u):
            raise ValueError("m and u need one value per level")
        for name, values in (("m", self.m), ("u", self.u)):
            if any(not 0 < v < 1 for v in values) or abs(sum(values) - 1) > 1e-6:
                raise ValueError(f"{name}: each value in (0, 1) and together 1")
        return self


class KindSettings(_Strict):
    threshold: float = Field(gt=0, le=1)
    threshold_why_zh: StrictStr = Field(min_length=1)
    expected_overlap: float = Field(gt=0, le=1)
    blocking: list[list[StrictStr]] = Field(min_length=1)
    em_blocking: list[list[StrictStr]] = Field(min_length=1)
    comparisons: dict[StrictStr, Prior]


class LinkageVersion(_Strict):
    """实体解析参数版本 — one dated set of thresholds, blocking rules and starting parameters."""

    version_id: StrictStr = Field(min_length=1)
    effective_from: date
    effective_to: date | None = None
    note: StrictStr | None = None
    seed: int
    min_records_to_train: int = Field(ge=2)
    u_max_pairs: float = Field(gt=0)
    em_max_pairs: float = Field(gt=0)
    kinds: dict[Kind, KindSettings]

    @model_validator(mode="after")
    def _fits_the_model(self) -> LinkageVersion:
        for kind in KINDS:
            if kind not in self.kinds:
                raise ValueError(f"kinds: {kind} missing")
            spec, settings = SPECS[kind], self.kinds[kind]
            for rule in settings.blocking + settings.em_blocking:
                unknown = set(rule) - set(spec.columns)
                if unknown or not rule:
                    raise ValueError(f"{kind}: blocking rule {rule} names unknown columns {sorted(unknown)}")
            if set(settings.comparisons) != set(spec.comparisons):
                raise ValueError(f"{kind}: comparisons must be exactly {sorted(spec.comparisons)}")
            for name, prior in settings.comparisons.items():
                levels = len(spec.comparisons[name][1])
                if len(prior.m) != levels:
                    raise ValueError(f"{kind}.{name}: {levels} levels, {len(prior.m)} values")
        return self

    def in_force(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


def load_settings(path: Path | None = None) -> list[LinkageVersion]:
    """Every version of the linkage settings file, validated and ordered; LinkageSettingsError if any is bad."""
    path = path or DATA / "linkage.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LinkageSettingsError(f"{path}: not valid YAML: {exc}") from None
    versions = parse_versions(raw, LinkageVersion, str(path), LinkageSettingsError)
    return check_no_overlap(versions, str(path), LinkageSettingsError)


@functools.cache
def _default_versions() -> tuple[LinkageVersion, ...]:
    return tuple(load_settings())


def settings_at(as_of: date | None = None, version: str | None = None) -> LinkageVersion:
    """The settings in force on `as_of` (or the version named); without either, the latest version."""
    versions = _default_versions()
    if as_of is None and version is None:
        return versions[-1]
    return at_version(versions, as_of or versions[-1].effective_from, version, "实体解析参数")


# ---------------------------------------------------------------- what each kind compares


def _head(value: str | None, size: int) -> str | None:
    return value[:size] if value and len(value) > size else None


def _tail(value: str | None, size: int) -> str | None:
    return value[-size:] if value and len(value) > size else None


def _person(row: dict[str, Any]) -> dict[str, Any]:
    valid = nz.resident_id(row.get("id_number"))
    typed = valid or nz.code(row.get("id_number"))
    born = nz.day(row.get("birth_date"))
    sex = nz.sex(row.get("sex"))
    if valid:  # the number says when and of which sex its holder was born
        born = born or f"{valid[6:10]}-{valid[10:12]}-{valid[12:14]}"
        sex = sex or ("M" if int(valid[16]) % 2 else "F")
    address = nz.compact(row.get("address"))
    return {
        "key_valid": valid,
        "id_text": typed,
        "id_head": _head(typed, 14) if typed and len(typed) >= 17 else None,
        "id_tail": _tail(typed, 8) if typed and len(typed) >= 17 else None,
        "id_division": typed[:6] if typed and len(typed) >= 17 else None,
        "name": nz.compact(row.get("name")),
        "name_key": nz.name_key(row.get("name")),
        "former_key": nz.name_key(row.get("former_name")),
        "birth_date": born,
        "sex": sex,
        "phone": nz.phone(row.get("phone")),
        "address": address,
        "address_head": _head(address, 6),
    }


def _company(row: dict[str, Any]) -> dict[str, Any]:
    typed = nz.code(row.get("uscc"))
    return {
        "key_valid": nz.uscc(typed),
        "uscc_text": typed,
        "uscc_tail": _tail(typed, 9),
        "name": nz.compact(row.get("name")),
        "name_core": nz.company_core(row.get("name")),
        "address": nz.compact(row.get("address")),
        "permit_number": nz.code(row.get("permit_number")),
        "kind": nz.compact(row.get("kind")),
    }


def _vehicle(row: dict[str, Any]) -> dict[str, Any]:
    typed = nz.code(row.get("vin"))
    return {
        "key_valid": nz.vin(typed),
        "vin_text": typed,
        "vin_tail": _tail(typed, 8),
        "plate": nz.plate(row.get("plate_number")),
        "plate_tail": nz.plate_tail(row.get("plate_number")),
        "plate_type": nz.code(row.get("plate_type")),
        "owner_id": nz.id_text(row.get("owner_id")),
        "vehicle_type": nz.code(row.get("vehicle_type")),
    }


# Similarity functions are named per SQL dialect (DuckDB's jaro_winkler_similarity is Spark's jaro_winkler,
# a UDF from the jar Splink ships); a level holds a placeholder that _level_sql fills for the backend.
def _jw(column: str, at: float) -> str:
    return f"{{jaro_winkler}}({column}_l, {column}_r) >= {at}"


def _dl(column: str, at: int) -> str:
    return f"{{damerau_levenshtein}}({column}_l, {column}_r) <= {at}"


def _level_sql(template: str, dialect: Any) -> str:
    return template.format(
        jaro_winkler=dialect.jaro_winkler_function_name,
        damerau_levenshtein=dialect.damerau_levenshtein_function_name,
    )


def _eq(column: str) -> str:
    return f"{column}_l = {column}_r"


_KEYS_DIFFER = "key_valid_l IS NOT NULL AND key_valid_r IS NOT NULL AND key_valid_l <> key_valid_r"
_ADDRESS = ("address", [_eq("address"), _jw("address", 0.9), _jw("address", 0.75)])


@dataclass(frozen=True)
class KindSpec:
    """How a kind is normalised and compared: comparison name -> (null-test column, levels before `else`)."""

    key_name: str
    normalise: Callable[[dict[str, Any]], dict[str, Any]]
    columns: tuple[str, ...]
    comparisons: dict[str, tuple[str, list[str]]]


def _spec(key_name: str, normalise: Callable[[dict[str, Any]], dict[str, Any]], comparisons: dict[str, tuple[str, list[str]]]) -> KindSpec:
    columns = tuple(normalise({}).keys())
    # every level ends with an implicit `else`; the prior lists count it
    return KindSpec(key_name, normalise, columns, {n: (c, [*levels, "ELSE"]) for n, (c, levels) in comparisons.items()})


SPECS: dict[str, KindSpec] = {
    "people": _spec("id_number", _person, {
        "id_number": ("id_text", [_eq("id_text"), _KEYS_DIFFER, _dl("id_text", 1), _dl("id_text", 2)]),
        "name": ("name_key", [
            _eq("name"), _eq("name_key"), "name_key_l = former_key_r OR former_key_l = name_key_r",
            _jw("name_key", 0.92), _jw("name_key", 0.8),
        ]),
        "birth_date": ("birth_date", [_eq("birth_date"), _dl("birth_date", 1)]),
        "sex": ("sex", [_eq("sex")]),
        "phone": ("phone", [_eq("phone"), _dl("phone", 1)]),
        "address": _ADDRESS,
    }),
    "companies": _spec("uscc", _company, {
        "uscc": ("uscc_text", [_eq("uscc_text"), _KEYS_DIFFER, _dl("uscc_text", 2)]),
        "name": ("name_core", [_eq("name"), _eq("name_core"), _jw("name_core", 0.9), _jw("name_core", 0.8)]),
        "address": _ADDRESS,
        "permit_number": ("permit_number", [_eq("permit_number"), _dl("permit_number", 1)]),
        "kind": ("kind", [_eq("kind")]),
    }),
    "vehicles": _spec("vin", _vehicle, {
        "vin": ("vin_text", [_eq("vin_text"), _KEYS_DIFFER, _dl("vin_text", 2)]),
        "plate": ("plate_tail", [_eq("plate"), _eq("plate_tail"), _dl("plate_tail", 1)]),
        "plate_type": ("plate_type", [_eq("plate_type")]),
        "owner_id": ("owner_id", [_eq("owner_id"), _dl("owner_id", 2)]),
        "vehicle_type": ("vehicle_type", [_eq("vehicle_type")]),
    }),
}


# ---------------------------------------------------------------- input


def _side_zh(side: str) -> str:
    return "左侧" if side == "left" else "右侧"


def _prepare(kind: str, rows: Sequence[Any], side: str) -> list[dict[str, Any]]:
    """Normalised rows with their record_id; FieldError naming the side and row for bad input."""
    if not isinstance(rows, Sequence) or isinstance(rows, str | bytes):
        raise FieldError(side, f"{_side_zh(side)}数据应为记录列表", f"{side} must be a list of records")
    spec, seen, prepared = SPECS[kind], set(), []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise FieldError(f"{side}[{i}]", f"{_side_zh(side)}第{i + 1}条记录不是对象", f"{side} record {i + 1} is not a mapping")
        record_id = row.get("record_id")
        if record_id is None or isinstance(record_id, bool) or not str(record_id).strip():
            raise FieldError("record_id", f"{_side_zh(side)}第{i + 1}条记录缺少 record_id", f"{side} record {i + 1} has no record_id")
        record_id = str(record_id).strip()
        if record_id in seen:
            raise FieldError("record_id", f"{_side_zh(side)}第{i + 1}条记录的 record_id 重复：{record_id}", f"{side} record {i + 1} repeats record_id {record_id!r}")
        seen.add(record_id)
        prepared.append({"record_id": record_id, **spec.normalise(row)})
    return prepared


def _check(kind: str, threshold: float | None, backend: str = "duckdb") -> None:
    if backend not in BACKENDS:
        raise FieldError("backend", f"未知的计算后端：{backend}（可用：{'、'.join(BACKENDS)}）", f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    if kind not in SPECS:
        raise FieldError("kind", f"未知的实体类型：{kind}（可用：{'、'.join(KINDS)}）", f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
    if threshold is not None and (isinstance(threshold, bool) or not 0 < threshold <= 1):
        raise FieldError("threshold", f"阈值应在0到1之间（不含0）：{threshold}", f"threshold must be in (0, 1]: {threshold!r}")


# ---------------------------------------------------------------- linkage


def link(
    kind: str,
    left: Sequence[dict[str, Any]],
    right: Sequence[dict[str, Any]],
    *,
    threshold: float | None = None,
    settings: LinkageVersion | None = None,
    backend: Backend = "duckdb",
) -> list[Match]:
    """关联 — the pairs (left, right) taken for the same entity at or above `threshold`, sorted by ids.

    `kind` is people, companies or vehicles; rows carry the import columns of that kind plus a
    `record_id` unique on its side (people may add birth_date, sex, former_name). Without a threshold
    the kind's default from the settings in force (the latest version unless `settings` is given).
    `backend` runs the Splink model on an in-memory DuckDB ("duckdb") or on Spark ("spark": the active
    Spark session, else a local one from `spark_session()`), with the differences the module names.
    """
    _check(kind, threshold, backend)
    if backend == "spark":
        _require_pyspark()
    settings = settings or settings_at()
    kind_settings = settings.kinds[kind]  # type: ignore[index]
    cut = kind_settings.threshold if threshold is None else threshold
    left_rows, right_rows = _prepare(kind, left, "left"), _prepare(kind, right, "right")
    if not left_rows or not right_rows:
        return []
    found = _deterministic(kind, left_rows, right_rows)
    keys_l = {r["record_id"]: r["key_valid"] for r in left_rows}
    keys_r = {r["record_id"]: r["key_valid"] for r in right_rows}
    for left_id, right_id, probability in _probabilistic(kind, left_rows, right_rows, settings, cut, backend):
        if (left_id, right_id) in found:
            continue
        key_l, key_r = keys_l[left_id], keys_r[right_id]
        if key_l and key_r and key_l != key_r:
            continue  # two valid national keys that differ: two entities, whatever else agrees
        found[(left_id, right_id)] = Match(left_id, right_id, probability, "probabilistic")
    return [found[pair] for pair in sorted(found)]


def _deterministic(kind: str, left: list[dict[str, Any]], right: list[dict[str, Any]]) -> dict[tuple[str, str], Match]:
    by_key: dict[str, list[str]] = {}
    for row in right:
        if row["key_valid"]:
            by_key.setdefault(row["key_valid"], []).append(row["record_id"])
    how = SPECS[kind].key_name
    return {
        (row["record_id"], right_id): Match(row["record_id"], right_id, 1.0, how)
        for row in left
        if row["key_valid"]
        for right_id in by_key.get(row["key_valid"], ())
    }


def _probabilistic(
    kind: str, left: list[dict[str, Any]], right: list[dict[str, Any]], settings: LinkageVersion, cut: float,
    backend: str = "duckdb",
) -> list[tuple[str, str, float]]:
    import pyarrow as pa
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.internals.exceptions import EMTrainingException

    spec, kind_settings = SPECS[kind], settings.kinds[kind]  # type: ignore[index]
    db_api = _database_api(backend)
    comparisons = []
    for name, (null_column, levels) in spec.comparisons.items():
        prior = kind_settings.comparisons[name]
        creators = [cll.NullLevel(null_column)] + [
            cll.ElseLevel() if sql == "ELSE" else cll.CustomLevel(_level_sql(sql, db_api.sql_dialect), label_for_charts=sql)
            for sql in levels
        ]
        comparisons.append(
            cl.CustomComparison(creators, output_column_name=name).configure(m_probabilities=prior.m, u_probabilities=prior.u)
        )
    n_left, n_right = len(left), len(right)
    prior_match = min(1.0, min(n_left, n_right) * kind_settings.expected_overlap / (n_left * n_right))
    creator = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="record_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in kind_settings.blocking],
        probability_two_random_records_match=min(prior_match, 0.5),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    schema = pa.schema([("record_id", pa.string()), *((c, pa.string()) for c in spec.columns)])
    splink_logger = logging.getLogger("splink")
    level = splink_logger.level
    try:
        tables = [
            db_api.register(pa.Table.from_pylist(rows, schema=schema), dataset_display_name=name)
            for name, rows in (("a_left", left), ("b_right", right))
        ]
        linker = Linker(tables, creator, log_level=logging.ERROR)
        if min(n_left, n_right) >= settings.min_records_to_train:
            try:
                linker.training.estimate_u_using_random_sampling(
                    max_pairs=settings.u_max_pairs, seed=settings.seed, min_count_per_level=None
                )
                for rule in kind_settings.em_blocking:
                    linker.training.estimate_parameters_using_expectation_maximisation(
                        block_on(*rule), max_pairs=settings.em_max_pairs, estimate_without_term_frequencies=True
                    )
            except (ValueError, EMTrainingException):
                # Training can fail on a lopsided batch (a source linked against golden records it mostly
                # repeats): EM drives a level's m to 0, or a training rule finds no pairs, and Splink refuses
                # the model. Score with the shipped starting values instead, as a small batch is.
                linker = Linker(tables, creator, log_level=logging.ERROR)
        # Splink turns a threshold of 1 into an infinite match weight; filter at exactly `cut` below.
        scored = linker.inference.predict(threshold_match_probability=min(cut, 1 - 1e-9), warning_mode="never")
        columns = "source_dataset_l", "record_id_l", "record_id_r", "match_probability"
        if backend == "duckdb":
            rows = scored.as_duckdbpyrelation().select(", ".join(columns)).fetchall()
        else:
            rows = [tuple(row) for row in scored.as_spark_dataframe().select(*columns).collect()]
    finally:
        splink_logger.setLevel(level)
        if backend != "duckdb":
            db_api.close()
    pairs = []
    for source_l, id_l, id_r, probability in rows:
        if probability < cut:
            continue
        if source_l != "a_left":
            id_l, id_r = id_r, id_l
        pairs.append((id_l, id_r, float(probability)))
    return pairs


# ---------------------------------------------------------------- backends


def _database_api(backend: str) -> Any:
    if backend == "duckdb":
        from splink.backends.duckdb import DuckDBAPI

        return DuckDBAPI()
    from splink.backends.spark import SparkAPI

    class CallSparkAPI(SparkAPI):  # type: ignore[misc]
        """Splink on a Spark session of its own (same SparkContext), so that its temporary views and UDFs
        cannot meet another call's; `close()` drops them and uncaches every table it persisted (Splink's
        Spark backend keeps them, and Spark's cache is shared: a long-lived context would fill up)."""

        def __init__(self) -> None:
            self.persisted: list[Any] = []
            # persist: intermediate tables stay in the executors' memory (spilling to disk), no checkpoint folder
            super().__init__(spark_session=spark_session().newSession(), break_lineage_method="persist")

        def _repartition_if_needed(self, spark_df: Any, templated_name: str) -> Any:
            # the frame returned here is the one SparkAPI then persists (DataFrame.persist returns itself)
            spark_df = super()._repartition_if_needed(spark_df, templated_name)
            self.persisted.append(spark_df)
            return spark_df

        def close(self) -> None:
            for spark_df in reversed(self.persisted):  # later tables are built on earlier ones
                spark_df.unpersist()
            for table in self.spark.catalog.listTables():
                if table.isTemporary:
                    self.spark.catalog.dropTempView(table.name)

    return CallSparkAPI()


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise FieldError(
            "backend",
            "未安装 Spark 计算后端，请先执行 pip install 'trafficgov[spark]'",
            "the spark backend needs pyspark: pip install 'trafficgov[spark]'",
        ) from None


def spark_session() -> Any:
    """Spark 会话 — the active Spark session, else a local one (local[2]) with Splink's similarity functions.

    On a cluster, start the session first (spark-submit, or a builder with Splink's jar in `spark.jars`,
    see `splink.backends.spark.similarity_jar_location`); link() then runs on it. The local session
    needs no network: the jar ships inside the splink package and Spark runs on the machine's Java 17.
    """
    _require_pyspark()
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # this machine's name may resolve to no usable address when offline; a local session needs none
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("trafficgov-hub-link")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def pair_scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, float]:
    """Precision, recall and F1 of the (left_id, right_id) pairs found against the true ones."""
    hits = len(found & truth)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}
