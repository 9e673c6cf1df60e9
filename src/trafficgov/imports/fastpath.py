"""Vectorised fast path for CSV imports: read blocks of lines with Polars, accept what is certainly valid.

The per-row parsers (`registry.rows.parse_*`) stay the single source of truth. A kind may declare a
vectorised checker: given a block of records as a frame of strings, it returns, for each row, either
the exact dict its per-row parser would return, or None ("not sure"); every None row then goes
through the per-row parser, so error messages and quarantine reasons come from one place. A checker
only says yes to rows already in canonical form (ASCII codes, upper case, no full-width characters,
known codes, right check digits, real dates...), where canonical form makes the answer easy to prove.

Reading: the file is cut into blocks of whole lines. A block is read with Polars only when each of its
lines is exactly one record (no quoted line breaks, no lone CR, valid UTF-8); a line whose field count
is wrong, or that is blank, is read again by the csv module as the existing reader would, with its line
number. At the first block that is not so simple the rest of the file goes through the existing reader
(`imports.reader.read_csv`), with the line numbers of the file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import polars as pl

from trafficgov.imports.reader import RawRecord, python_encoding, read_csv

BLOCK_BYTES = 1 << 21
BOM = b"\xef\xbb\xbf"

# A vectorised checker: frame of str/null cells (columns named as the file's header) -> one dict or None per row.
FastCheck = Callable[[pl.DataFrame, Any], list[dict[str, Any] | None]]


class FastRecord:
    """A record the fast path read: its line number, and its raw text only when quarantine asks for it."""

    __slots__ = ("batch", "index", "line_no")
    values = None
    error = None

    def __init__(self, batch: Batch, index: int) -> None:
        self.batch = batch
        self.index = index
        self.line_no = batch.first_line + index

    @property
    def raw(self) -> str:
        return ",".join(self.batch.cells(self.index))


@dataclass
class Batch:
    """Consecutive lines of a CSV file, each exactly one record, starting at line `first_line`."""

    first_line: int
    columns: list[str]
    lines: list[str]
    frame: pl.DataFrame
    suspect: list[bool] | None = None  # lines the frame may have read differently from the csv module

    def __len__(self) -> int:
        return len(self.lines)

    def cells(self, index: int) -> list[str]:
        rows = list(csv.reader([self.lines[index]]))
        return rows[0] if rows else []

    def record(self, index: int) -> RawRecord | None:
        """The record the existing reader makes of this line (None for a blank line, which it skips)."""
        line_no = self.first_line + index
        row = self.cells(index)
        if not row or all(not cell.strip() for cell in row):
            return None
        raw = ",".join(row)
        if len(row) != len(self.columns):
            from trafficgov.errors import FieldError

            return RawRecord(
                line_no,
                None,
                raw,
                FieldError("line", f"第{line_no}行有{len(row)}列，表头有{len(self.columns)}列", f"line {line_no} has {len(row)} fields, the header has {len(self.columns)}"),
            )
        return RawRecord(line_no, {c: (v.strip() or None) for c, v in zip(self.columns, row, strict=True)}, raw)


class _Chain(io.RawIOBase):
    """Bytes already read, then the rest of a stream."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self.head = head
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _rest_by_reader(header: bytes, first_line: int, head: bytes, stream: BinaryIO) -> Iterator[RawRecord]:
    """The existing reader over the rest of the file; blank lines in front keep its line numbers right."""
    padding = b"\n" * max(first_line - 2, 0)
    chained = io.BufferedReader(_Chain(header + padding + head, stream), buffer_size=1 << 16)
    return read_csv(chained, "utf-8")


def _simple_header(header: bytes) -> list[str] | None:
    try:
        text = header.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if '"' in text or "\x00" in text or "\r" in text.rstrip("\r\n") or not text.strip():
        return None
    columns = [h.strip().lstrip("\ufeff").lower() for h in text.rstrip("\r\n").split(",")]
    if len(set(columns)) != len(columns) or not all(columns):
        return None
    return columns


def _parse_block(block: bytes, columns: list[str]) -> tuple[list[str], pl.DataFrame, list[bool] | None] | None:
    """Lines and frame of a block whose every line is one record; None when it is not that simple."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text or text.count("\r") != text.count("\r\n"):
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line[:-1] if line.endswith("\r") else line for line in lines] if "\r" in text else lines
    if '"' in text:
        try:
            rows = list(csv.reader(lines))
        except csv.Error:
            return None
        if len(rows) != len(lines) or any(len(row) != len(columns) for row in rows):
            return None
        data = {c: [v.strip() or None for v in values] for c, values in zip(columns, zip(*rows, strict=False), strict=True)} if rows else {c: [] for c in columns}
        frame = pl.DataFrame({c: pl.Series(c, v, dtype=pl.String) for c, v in data.items()})
        return lines, frame, None
    try:
        frame = pl.read_csv(
            block, has_header=False, new_columns=columns, infer_schema=False, truncate_ragged_lines=True,
            quote_char=None, encoding="utf8",
        )
    except (pl.exceptions.PolarsError, ValueError):
        return None
    if frame.height != len(lines) or frame.width != len(columns):
        return None
    commas = len(columns) - 1
    suspect = [line.count(",") != commas for line in lines]
    return lines, frame, suspect if any(suspect) else None


def read_batches(stream: BinaryIO, encoding: str, block_bytes: int = BLOCK_BYTES) -> Iterator[Batch | RawRecord]:
    """Batches of simple lines, or the existing reader's records from the first line that is not simple."""
    if python_encoding(encoding) != "utf-8-sig":
        yield from read_csv(stream, encoding)
        return
    buffer = stream.read(block_bytes)
    if buffer.startswith(BOM):
        buffer = buffer[len(BOM):]
    eof = not buffer
    while b"\n" not in buffer and not eof:
        more = stream.read(block_bytes)
        eof = not more
        buffer += more
    cut = buffer.find(b"\n")
    header = buffer[:cut + 1] if cut >= 0 else buffer
    columns = _simple_header(header)
    if columns is None:
        yield from _rest_by_reader(b"", 2, buffer, stream)
        return
    buffer = buffer[len(header):]
    line = 2
    size = min(block_bytes, 1 << 16)  # small blocks first, so that writing starts early
    while True:
        if not eof:
            more = stream.read(size)
            size = min(size * 2, block_bytes)
            eof = not more
            buffer += more
        if eof:
            block, buffer = buffer, b""
        else:
            cut = buffer.rfind(b"\n")
            if cut < 0:
                continue
            block, buffer = buffer[:cut + 1], buffer[cut + 1:]
        if not block:
            if eof:
                return
            continue
        parsed = _parse_block(block, columns)
        if parsed is None:
            yield from _rest_by_reader(header, line, block + buffer, stream)
            return
        lines, frame, suspect = parsed
        yield Batch(line, columns, lines, frame, suspect)
        line += len(lines)


def check_batch(batch: Batch, check: FastCheck, tables: Any) -> list[dict[str, Any] | None]:
    """The checker's rows, with None for every line the frame may not have read as the csv module does."""
    rows = check(batch.frame, tables)
    if batch.suspect is not None:
        return [None if bad else row for row, bad in zip(rows, batch.suspect, strict=True)]
    return rows


# ---------------------------------------------------------------- checkers of the registry's kinds
#
# Each accepts a row only when every cell is in the one form the per-row parser leaves unchanged, so
# that what it returns is, by construction, what `parse_*` returns. Anything else -> None -> parse_*.

_CJK = "\u4e00-\u9fff"  # CJK unified ideographs: no NFKC decomposition, no case
_TEXT_CHAR = f"\\x21-\\x7e{_CJK}\u00b7"
_SAFE_TEXT = f"^[{_TEXT_CHAR}](?:[ {_TEXT_CHAR}]*[{_TEXT_CHAR}])?$"  # printable ASCII, CJK, middle dot; trimmed
_ID18 = r"^[0-9]{17}[0-9X]$"
_ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _col(frame: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None, dtype=pl.String)


def _optional(cell: pl.Expr, ok: pl.Expr) -> pl.Expr:
    return cell.is_null() | ok.fill_null(False)


def _code_in(cell: pl.Expr, entries: dict[str, Any], max_length: int, *, upper: bool = False) -> pl.Expr:
    """Cell is a known code in exactly the form the parser keeps (ASCII, trimmed, upper case if it upper-cases)."""
    allowed = [
        code for code in entries
        if code.isascii() and code.strip() == code and len(code) <= max_length and (not upper or code.upper() == code)
    ]
    return cell.is_in(allowed)


def _resident_id(cell: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(valid 18-character resident ID in canonical form, birth date, sex) of a column."""
    from trafficgov.registry.identifiers import ID_CHECK, ID_WEIGHTS

    total = pl.lit(0, dtype=pl.Int64)
    for position, weight in enumerate(ID_WEIGHTS):
        total = total + cell.str.slice(position, 1).cast(pl.Int64, strict=False) * weight
    check = (total % 11).replace_strict(dict(enumerate(ID_CHECK)), default=None, return_dtype=pl.String)
    year = cell.str.slice(6, 4)
    born = pl.concat_str([year, cell.str.slice(10, 2), cell.str.slice(12, 2)], separator="-").str.to_date("%Y-%m-%d", strict=False)
    ok = (
        cell.str.contains(_ID18)
        & (check == cell.str.slice(17, 1))
        & born.is_not_null()
        & (year.cast(pl.Int64, strict=False) >= 1850)
    )
    sex = pl.when(cell.str.slice(16, 1).cast(pl.Int64, strict=False) % 2 == 1).then(pl.lit("M")).otherwise(pl.lit("F"))
    ok = ok.fill_null(False)
    return ok, pl.when(ok).then(born), sex  # a date Python cannot hold (year 0) must not reach to_list


def _vin_ok(cell: pl.Expr) -> pl.Expr:
    from trafficgov.registry.identifiers import VIN_VALUES, VIN_WEIGHTS

    total = pl.lit(0, dtype=pl.Int64)
    for position, weight in enumerate(VIN_WEIGHTS):
        if weight:
            value = cell.str.slice(position, 1).replace_strict(VIN_VALUES, default=None, return_dtype=pl.Int64)
            total = total + value * weight
    remainder = total % 11
    check = pl.when(remainder == 10).then(pl.lit("X")).otherwise(remainder.cast(pl.String))
    return (cell.str.contains(r"^[A-HJ-NPR-Z0-9]{17}$") & (check == cell.str.slice(8, 1))).fill_null(False)


def _integer(cell: pl.Expr, maximum: int) -> tuple[pl.Expr, pl.Expr]:
    value = cell.cast(pl.Int64, strict=False)
    return _optional(cell, cell.str.contains(r"^[0-9]{1,9}$") & (value <= maximum)), value


def _date(cell: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    value = cell.str.to_date("%Y-%m-%d", strict=False)
    year = cell.str.slice(0, 4).cast(pl.Int64, strict=False)
    ok = _optional(cell, cell.str.contains(_ISO_DATE) & value.is_not_null() & (year >= 1))
    return ok, pl.when(ok).then(value)  # a date Python cannot hold (year 0) must not reach to_list


def _text(cell: pl.Expr, max_length: int) -> pl.Expr:
    return _optional(cell, cell.str.contains(_SAFE_TEXT) & (cell.str.len_chars() <= max_length))


def _same_uscc(value: str) -> bool:
    from trafficgov.errors import FieldError
    from trafficgov.registry.identifiers import validate_uscc

    try:
        return validate_uscc(value) == value
    except FieldError:
        return False


def _evaluate(frame: pl.DataFrame, ok: pl.Expr, outputs: dict[str, pl.Expr]) -> tuple[list[bool], list[str], list[list[Any]]]:
    result = frame.select(ok.fill_null(False).alias("__ok"), *(expr.alias(name) for name, expr in outputs.items()))
    names = list(outputs)
    return result["__ok"].to_list(), names, [result[name].to_list() for name in names]


def _plate_matcher(entry: Any) -> Callable[[str], Any]:
    """`entry.matches(plate)` (any period): its compiled union's fullmatch, without the model's attribute lookups."""
    compiled = entry._any  # what PlateType.matches(plate, None) uses
    if compiled is None:
        return entry.matches
    return compiled.fullmatch


def check_vehicles(frame: pl.DataFrame, tables: Any) -> list[dict[str, Any] | None]:
    """`parse_vehicle` for the rows whose every cell is already canonical; None for the others."""
    plate, plate_type, vin = _col(frame, "plate_number"), _col(frame, "plate_type"), _col(frame, "vin")
    owner, operator = _col(frame, "owner_id"), _col(frame, "operator_uscc")
    owner_id_ok, _, _ = _resident_id(owner)
    owner_other = owner.str.contains(r"^[0-9A-Z]{1,32}$") & (owner.str.len_bytes() != 18) & ~owner.str.contains(r"^[0-9]+$")
    owner_uscc = owner.str.contains(r"^[0-9]{8}[0-9A-Z]{10}$") & ~owner.str.contains(r"^[0-9]{17}")
    checks = [
        plate_type.is_not_null() & _code_in(plate_type, tables.plate_types, 2),
        plate.is_not_null() & plate.str.contains(f"^[0-9A-Z{_CJK}]+$") & (plate.str.len_chars() <= 16),
        _optional(vin, _vin_ok(vin)),
        _optional(_col(frame, "vehicle_type"), _code_in(_col(frame, "vehicle_type"), tables.vehicle_types, 4, upper=True)),
        _optional(_col(frame, "use_nature"), _code_in(_col(frame, "use_nature"), tables.use_natures, 1, upper=True)),
        _optional(_col(frame, "status"), _code_in(_col(frame, "status"), tables.vehicle_statuses, 8)),
        _optional(owner, owner_id_ok | owner_other | owner_uscc),
        _optional(operator, operator.str.contains(r"^[0-9]{8}[0-9A-Z]{10}$")),
    ]
    outputs: dict[str, pl.Expr] = {"plate_number": plate, "plate_type": plate_type, "vin": vin}
    for name in ("vehicle_type", "use_nature", "owner_id", "operator_uscc"):
        outputs[name] = _col(frame, name)
    for name, maximum in (("rated_passengers", 300), ("rated_load_kg", 200_000), ("max_total_mass_kg", 200_000), ("axles", 20)):
        ok, value = _integer(_col(frame, name), maximum)
        checks.append(ok)
        outputs[name] = value
    for name in ("registered_on", "inspection_due", "insurance_expiry"):
        ok, value = _date(_col(frame, name))
        checks.append(ok)
        outputs[name] = value
    outputs["status"] = _col(frame, "status")
    outputs["__owner_uscc"] = owner_uscc.fill_null(False)
    oks, names, columns = _evaluate(frame, pl.all_horizontal(checks), outputs)
    names = names[:-1]
    matchers = {code: _plate_matcher(entry) for code, entry in tables.plate_types.items()}
    plates_ok = [ok and matchers[kind](number) is not None for ok, number, kind in zip(oks, columns[0], columns[1], strict=True)]
    if any(columns[-1]) or any(value is not None for value in columns[6]):
        plates_ok = [
            ok and not ((uscc_owner and not _same_uscc(owner)) or (operator is not None and not _same_uscc(operator)))
            for ok, uscc_owner, owner, operator in zip(plates_ok, columns[-1], columns[5], columns[6], strict=True)
        ]
    # zip(names, values) stops before the helper column
    return [dict(zip(names, values, strict=False)) if ok else None for ok, values in zip(plates_ok, zip(*columns, strict=True), strict=True)]


def check_people(frame: pl.DataFrame, tables: Any) -> list[dict[str, Any] | None]:
    """`parse_person` for resident-ID rows whose every cell is already canonical; None for the others."""
    from trafficgov.registry.rows import RESIDENT_ID

    number, doc_type = _col(frame, "id_number"), _col(frame, "doc_type")
    id_ok, born, sex = _resident_id(number)
    resident = RESIDENT_ID in tables.document_types
    checks = [
        number.is_not_null() & id_ok,
        (doc_type.is_null() | (doc_type == RESIDENT_ID)) & pl.lit(resident),
        _text(_col(frame, "name"), 64),
        _optional(_col(frame, "phone"), _col(frame, "phone").str.contains(r"^[0-9]{7,12}$")),
        _text(_col(frame, "address"), 256),
    ]
    outputs = {
        "id_number": number,
        "doc_type": pl.lit(RESIDENT_ID),
        "name": _col(frame, "name"),
        "phone": _col(frame, "phone"),
        "address": _col(frame, "address"),
        "birth_date": born,
        "sex": sex,
    }
    oks, names, columns = _evaluate(frame, pl.all_horizontal(checks), outputs)
    return [dict(zip(names, values, strict=False)) if ok else None for ok, values in zip(oks, zip(*columns, strict=True), strict=True)]


# ---------------------------------------------------------------- reading ahead


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


def checked(stream: BinaryIO, encoding: str, check: FastCheck, tables: Any, *, ahead: int = 2) -> Iterator[tuple[Batch, list[dict[str, Any] | None]] | list[RawRecord]]:
    """(batch, checker rows) for simple blocks, lists of the existing reader's records for the rest.

    Read and checked in a thread of its own, up to `ahead` items in advance: Polars and the database
    driver both release the GIL, so reading the next block overlaps writing this one.
    """
    import queue
    import threading

    items: queue.Queue[Any] = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            pending: list[RawRecord] = []
            for item in read_batches(stream, encoding):
                if isinstance(item, Batch):
                    if pending and not put(pending):
                        return
                    pending = []
                    if not put((item, check_batch(item, check, tables))):
                        return
                else:
                    pending.append(item)
                    if len(pending) >= 1000:
                        if not put(pending):
                            return
                        pending = []
            if pending and not put(pending):
                return
            put(_DONE)
        except BaseException as error:  # handed to the reading side, raised there
            put(_Failure(error))

    worker = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()
