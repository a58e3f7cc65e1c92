"""The SQLFlow client: submit SQL programs, follow their output, get tables as DataFrames.

    from sqlflow import Client

    client = Client()                      # $SQLFLOW_SERVER, else http://127.0.0.1:50051
    job = client.run("SELECT 1 AS one; SELECT * FROM iris.train LIMIT 5;")
    for ev in job:                         # as it arrives: Result, Log, Figure, StatementEnd
        print(ev)
    job.wait()                             # the final JobStatus (raises JobFailed, ...)
    df = job.results()[1].to_pandas()

A job outlives the call that started it: ``client.run(sql, detach=True)`` returns at once,
``client.attach(job_id)`` picks it up again from anywhere, ``client.jobs()`` lists them.

Following a job is driven by the server's cursor with long polls; when the server
restarts (or a reply is lost) the client retries ``Fetch`` with the same cursor for up to
a minute, like the ``sqlflow`` CLI, so no response is repeated or lost.
"""

from __future__ import annotations

import datetime as _dt
import enum
import operator
import os
import re
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import (
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

from . import errors
from ._proto import sqlflow_pb2 as pb
from .errors import (
    DeadlineExceeded,
    InvalidArgument,
    JobCancelled,
    JobFailed,
    ProtocolError,
    ResourceExhausted,
    SQLFlowError,
    Unavailable,
)

__all__ = [
    "Client",
    "Job",
    "JobStatus",
    "StatusCode",
    "JobInfo",
    "Result",
    "Log",
    "LogKind",
    "Figure",
    "StatementEnd",
    "Event",
    "DEFAULT_SERVER",
]

DEFAULT_SERVER = "http://127.0.0.1:50051"
#: How long following a job rides out an unreachable server (a restart), as the CLI does.
RETRY_FOR_SECONDS = 60.0
#: Long-poll length; the server answers early when something happens.
WAIT_MS = 1000
#: Largest reply accepted from the server (a Fetch page, a ListJobs page).
MAX_MESSAGE_BYTES = 64 << 20
#: Default cap on what one Job keeps in memory (tables, logs, figures).
DEFAULT_MAX_BUFFER_BYTES = 2 << 30
#: Widest result table accepted.
MAX_COLUMNS = 65536
_MAX_TIMEOUT = 2**32 - 1
_MAX_ID = 1024


# --------------------------------------------------------------------------------------
# Status, events and results


class StatusCode(enum.IntEnum):
    """A job's state (the protocol's ``JobStatus.Code``)."""

    PENDING = 0
    RUNNING = 1
    SUCCEEDED = 2
    FAILED = 3
    UNKNOWN = 4
    CANCELLED = 5

    @property
    def terminal(self) -> bool:
        """True once the job can change no more."""
        return self in (StatusCode.SUCCEEDED, StatusCode.FAILED, StatusCode.CANCELLED)


@dataclass(frozen=True)
class JobStatus:
    """A job's status: ``code`` (:class:`StatusCode`) and the server's ``message``
    (for FAILED, the failing statement and the database's error)."""

    code: StatusCode
    message: str = ""

    @property
    def name(self) -> str:
        """``"RUNNING"``, ``"SUCCEEDED"``, ..."""
        return self.code.name

    @property
    def terminal(self) -> bool:
        return self.code.terminal

    def __str__(self) -> str:
        return f"{self.name}: {self.message}" if self.message else self.name

    @classmethod
    def _from_pb(cls, st: Any) -> "JobStatus":
        try:
            code = StatusCode(int(st.code))
        except ValueError:
            code = StatusCode.UNKNOWN
        return cls(code, _clip(st.message))


class LogKind(enum.IntEnum):
    """What a log line is: plain ``LOG``, ``PROGRESS`` of a long statement, or ``ERROR``."""

    LOG = 0
    PROGRESS = 1
    ERROR = 2


@dataclass(frozen=True)
class Log:
    """A log line of the job (rows affected, training progress, a warning, an error)."""

    text: str
    kind: LogKind = LogKind.LOG
    #: 0-based index of the statement that was running.
    statement_index: int = 0

    @property
    def message(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Figure:
    """A picture the server drew for a statement (loss curve, feature importance, ROC...).

    Notebooks show it by itself (``_repr_png_`` / ``_repr_svg_``); ``save(path)``
    writes it to a file::

        for fig in job.figures():
            fig.save(f"{fig.title}.png")
    """

    title: str
    mime_type: str
    data: bytes = field(repr=False)
    statement_index: int = 0

    def _repr_png_(self) -> Optional[bytes]:
        return self.data if self.mime_type == "image/png" else None

    def _repr_svg_(self) -> Optional[str]:
        if self.mime_type.startswith("image/svg"):
            return self.data.decode("utf-8", "replace")
        return None

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the picture's bytes to ``path``."""
        with open(path, "wb") as f:
            f.write(self.data)

    def __repr__(self) -> str:
        return f"Figure(title={self.title!r}, mime_type={self.mime_type!r}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class StatementEnd:
    """A statement finished: its text as written, position and run time."""

    sql: str
    statement_index: int
    spent_seconds: float


_DECODE_LOCK = threading.Lock()


class Result:
    """One result table: the rows a statement returned.

    ``columns`` (names), ``column_types`` (the database's declared types, ``""`` where
    it has none), ``rows`` (a list of tuples of Python values: ``int``, ``float``,
    ``str``, ``bytes``, ``bool``, ``None``, ``decimal.Decimal``, ``datetime.date`` /
    ``time`` / ``datetime``), ``statement_index`` and ``sql`` (the statement)::

        res = client.run("SELECT 1 AS a, 'x' AS b").results()[0]
        res.columns          # ['a', 'b']
        res.rows             # [(1, 'x')]
        res.to_pandas()      # a DataFrame (pip install 'sqlflow-rs[pandas]')
        res.to_arrow()       # a pyarrow.Table
    """

    __slots__ = ("columns", "column_types", "statement_index", "sql", "_raw", "_decoded",
                 "_nrows", "_rows")

    def __init__(self, columns: List[str], column_types: List[str], raw_rows: List[bytes],
                 statement_index: int = 0, sql: str = ""):
        self.columns = columns
        self.column_types = column_types
        self.statement_index = statement_index
        self.sql = sql
        # Rows stay encoded until first used: smaller than Python objects, and decoded
        # column-wise in bulk.
        self._raw: Optional[List[bytes]] = raw_rows
        self._decoded: Optional[Tuple[List[list], List[str]]] = None
        self._nrows = len(raw_rows)
        self._rows: Optional[List[tuple]] = None

    def _decode(self) -> Tuple[List[Any], List[str]]:
        if self._decoded is None:
            with _DECODE_LOCK:
                if self._decoded is None:
                    assert self._raw is not None
                    decoded = _decode_rows_numpy(self._raw, len(self.columns))
                    if decoded is None:
                        decoded = _decode_rows(self._raw, len(self.columns))
                    self._decoded = decoded
                    self._raw = None
        return self._decoded

    @property
    def _data(self) -> List[list]:
        """Per column, its Python values."""
        cols = self._decode()[0]
        for i, c in enumerate(cols):
            if isinstance(c, (_NpColumn, _ArrowColumn)):
                cols[i] = c.tolist()
        return cols

    @property
    def _kinds(self) -> List[str]:
        """Per column: the cell kind of its values ("int64", "double", "string", ...,
        "null" if all are NULL, "mixed")."""
        return self._decode()[1]

    @property
    def rows(self) -> List[tuple]:
        """The rows as tuples (built on first use from the column-wise data)."""
        if self._rows is None:
            if self.columns:
                self._rows = list(zip(*self._data))
            else:
                self._rows = [() for _ in range(self._nrows)]
        return self._rows

    def column(self, key: Union[int, str]) -> List[Any]:
        """One column's values, by position or name."""
        if isinstance(key, str):
            key = self.columns.index(key)
        return list(self._data[key])

    def __len__(self) -> int:
        return self._nrows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.rows)

    def __repr__(self) -> str:
        return (f"Result(statement_index={self.statement_index}, columns={self.columns!r}, "
                f"rows={self._nrows})")

    def to_pandas(self):
        """The table as a ``pandas.DataFrame`` (column dtypes as ``pandas.read_sql``
        would infer them: integers with NULLs become floats, text ``str``)."""
        try:
            import pandas as pd
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("to_pandas() needs pandas: pip install 'sqlflow-rs[pandas]'"
                              ) from e
        if not self.columns:
            return pd.DataFrame(index=range(self._nrows))
        cols = self._decode()[0]
        frame = pd.DataFrame(
            {i: (c.for_pandas() if isinstance(c, (_NpColumn, _ArrowColumn)) else c)
             for i, c in enumerate(cols)},
            columns=range(len(self.columns)))
        frame.columns = list(self.columns)
        return frame

    def to_arrow(self):
        """The table as a ``pyarrow.Table`` (typed columns; decimals as decimal128 where
        they fit, dates, times and timestamps as Arrow's types)."""
        try:
            import pyarrow as pa
        except ImportError as e:  # pragma: no cover
            raise ImportError("to_arrow() needs pyarrow: pip install 'sqlflow-rs[pandas]'"
                              ) from e
        arrays = []
        cols, kinds = self._decode()
        for values, kind in zip(cols, kinds):
            if isinstance(values, (_NpColumn, _ArrowColumn)):
                arrays.append(values.to_arrow())
                continue
            typ = {
                "int64": pa.int64(), "double": pa.float64(), "string": pa.string(),
                "bytes": pa.binary(), "bool": pa.bool_(), "date": pa.date32(),
                "time": pa.time64("us"), "null": pa.null(),
            }.get(kind)
            try:
                arrays.append(pa.array(values, type=typ))
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                arrays.append(pa.array([None if v is None else str(v) for v in values],
                                       type=pa.string()))
        return pa.Table.from_arrays(arrays, names=list(self.columns))


Event = Union[Result, Log, Figure, StatementEnd]


@dataclass(frozen=True)
class JobInfo:
    """One of your jobs, as ``client.jobs()`` lists them (newest first)."""

    job_id: str
    status: JobStatus
    submitted_at: Optional[_dt.datetime]
    finished_at: Optional[_dt.datetime]
    summary: str
    request_id: str

    @property
    def id(self) -> str:
        return self.job_id


# --------------------------------------------------------------------------------------
# Column-wise decoding of rows.
#
# A result arrives as one `Response{row: Row{cells}}` message per row. Decoding that cell
# by cell in Python costs several calls per cell, so rows are decoded in bulk with
# messages that read the same bytes differently (protobuf merges repeated occurrences of
# a field): all rows of a table parse at once into one flat list of cell encodings, the
# cells of one column join into one message whose typed repeated fields hold the column's
# values. Anything unusual (mixed types, an odd encoding) falls back to the generated
# classes, cell by cell.


def _fast_messages() -> Dict[str, Any]:
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(
        name="sqlflow_python_fast.proto", package="sqlflow_python_fast", syntax="proto3")

    def msg(name: str, fields: Sequence[Tuple[str, int, int, int, str]]) -> None:
        m = fdp.message_type.add(name=name)
        for fname, num, typ, label, tname in fields:
            f = m.field.add(name=fname, number=num, type=typ, label=label)
            if tname:
                f.type_name = tname

    R, O = F.LABEL_REPEATED, F.LABEL_OPTIONAL
    # `Responses` with each response left as bytes (the server's RawResponses).
    msg("RawResponses", [
        ("job_status", 1, F.TYPE_BYTES, O, ""),
        ("response", 2, F.TYPE_BYTES, R, ""),
        ("next_cursor", 3, F.TYPE_STRING, O, ""),
        ("eof", 4, F.TYPE_BOOL, O, ""),
    ])
    msg("FlatRow", [("cells", 1, F.TYPE_BYTES, R, "")])
    # Concatenated `Response{row}` encodings: the singular `row` merges them all.
    msg("MergedRows", [("row", 2, F.TYPE_MESSAGE, O, ".sqlflow_python_fast.FlatRow")])
    msg("MergedCells", [
        ("null", 1, F.TYPE_BYTES, R, ""),
        ("bool", 2, F.TYPE_BOOL, R, ""),
        ("int64", 3, F.TYPE_INT64, R, ""),
        ("double", 4, F.TYPE_DOUBLE, R, ""),
        ("string", 5, F.TYPE_BYTES, R, ""),
        ("bytes", 6, F.TYPE_BYTES, R, ""),
        ("decimal", 7, F.TYPE_BYTES, R, ""),
        ("date", 8, F.TYPE_BYTES, R, ""),
        ("time", 9, F.TYPE_BYTES, R, ""),
        ("timestamp", 10, F.TYPE_BYTES, R, ""),
    ])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {
        n: message_factory.GetMessageClass(
            pool.FindMessageTypeByName("sqlflow_python_fast." + n))
        for n in ("RawResponses", "FlatRow", "MergedRows", "MergedCells")
    }


_FAST = _fast_messages()
_RawResponses = _FAST["RawResponses"]
_MergedRows = _FAST["MergedRows"]
_MergedCells = _FAST["MergedCells"]

_CELL_FIELDS = ("bool", "int64", "double", "string", "bytes", "decimal", "date", "time",
                "timestamp")
_NULL_CELL = b"\x0a\x00"  # Cell{null: Null{}}
_ROW_SEPARATOR = b"\x12\x02\x0a\x00"  # Response{row: Row{cells: [<empty>]}}
_FIRST_BYTE = operator.itemgetter(slice(0, 1))
_NOT_ROW = re.compile(rb"[^\x12]")
_TAG_ROW_BYTE = 0x12


def _parse_date(s: str) -> Any:
    try:
        return _dt.date.fromisoformat(s)
    except ValueError:
        return s


def _parse_time(s: str) -> Any:
    try:
        return _dt.time.fromisoformat(s)
    except ValueError:
        return _parse_fraction(s, _dt.time.fromisoformat)


def _parse_timestamp(s: str) -> Any:
    try:
        return _dt.datetime.fromisoformat(s)
    except ValueError:
        return _parse_fraction(s, _dt.datetime.fromisoformat)


def _parse_fraction(s: str, parse: Callable[[str], Any]) -> Any:
    """Python < 3.11 only reads 3 or 6 fraction digits: pad or cut to 6."""
    m = re.match(r"^(.*?\d{2}:\d{2}:\d{2})(?:\.(\d+))?(.*)$", s)
    if m:
        frac = (m.group(2) or "")[:6].ljust(6, "0")
        tz = m.group(3)
        if tz.endswith("Z"):
            tz = tz[:-1] + "+00:00"
        elif len(tz) == 3 and tz[0] in "+-":
            tz = tz + ":00"
        try:
            return parse(f"{m.group(1)}.{frac}{tz}")
        except ValueError:
            pass
    return s


def _parse_decimal(s: str) -> Any:
    try:
        return Decimal(s)
    except (InvalidOperation, ValueError):
        return s


def _utf8(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _convert(kind: str, values: Any) -> List[Any]:
    """Python values of one typed field of MergedCells."""
    if kind in ("int64", "double", "bool", "bytes"):
        return list(values)
    strings = [b.decode("utf-8", "replace") for b in values] if kind != "string" else None
    if kind == "string":
        try:
            return [b.decode() for b in values]
        except UnicodeDecodeError:
            return [_utf8(b) for b in values]
    assert strings is not None
    if kind == "decimal":
        return [_parse_decimal(s) for s in strings]
    if kind == "date":
        return [_parse_date(s) for s in strings]
    if kind == "time":
        return [_parse_time(s) for s in strings]
    return [_parse_timestamp(s) for s in strings]


def _cell_value(cell: Any) -> Any:
    which = cell.WhichOneof("value")
    if which is None or which == "null":
        return None
    v = getattr(cell, which)
    if which == "decimal":
        return _parse_decimal(v)
    if which == "date":
        return _parse_date(v)
    if which == "time":
        return _parse_time(v)
    if which == "timestamp":
        return _parse_timestamp(v)
    return v


def _column_slow(cells: Sequence[bytes]) -> Tuple[List[Any], str]:
    values = []
    kinds = set()
    for c in cells:
        cell = pb.Cell.FromString(c)
        which = cell.WhichOneof("value")
        if which not in (None, "null"):
            kinds.add(which)
        values.append(_cell_value(cell))
    if not kinds:
        return values, "null"
    return values, kinds.pop() if len(kinds) == 1 else "mixed"


def _decode_column(cells: List[bytes]) -> Tuple[List[Any], str]:
    """The values of one column from its cells' encodings, and their kind."""
    n = len(cells)
    try:
        merged = _MergedCells.FromString(b"".join(cells))
    except DecodeError:
        return _column_slow(cells)
    counts = {f: len(getattr(merged, f)) for f in _CELL_FIELDS}
    present = [f for f, k in counts.items() if k]
    nnull = len(merged.null)
    if len(present) > 1 or sum(counts.values()) + nnull != n:
        return _column_slow(cells)
    if not present:
        if cells.count(_NULL_CELL) != n:
            return _column_slow(cells)
        return [None] * n, "null"
    kind = present[0]
    values = _convert(kind, getattr(merged, kind))
    if nnull == 0:
        return values, kind
    mask = [c == _NULL_CELL for c in cells]
    if sum(mask) != nnull:
        return _column_slow(cells)
    it = iter(values)
    return [None if isnull else next(it) for isnull in mask], kind


def _decode_rows(rows: List[bytes], ncols: int) -> Tuple[List[List[Any]], List[str]]:
    """Column-wise values of `Response{row}` encodings with `ncols` cells each."""
    n = len(rows)
    if n == 0:
        return [[] for _ in range(ncols)], ["null"] * ncols
    flat: Optional[List[bytes]] = None
    if ncols > 0:
        try:
            flat = list(_MergedRows.FromString(_ROW_SEPARATOR.join(rows)).row.cells)
        except DecodeError:
            flat = None
        # Every row must have exactly `ncols` cells: the separators (and only they) are
        # empty, at every (ncols+1)-th place.
        if flat is not None and not (
            len(flat) == n * (ncols + 1) - 1
            and flat.count(b"") == n - 1
            and flat[ncols::ncols + 1].count(b"") == n - 1
        ):
            flat = None
    if flat is None:
        # Row by row, with the generated classes: exact checks and messages.
        flat = []
        for i, b in enumerate(rows):
            try:
                row = pb.Response.FromString(b).row
            except DecodeError as e:
                raise ProtocolError(message=f"row {i} does not decode: {e}") from None
            if len(row.cells) != ncols:
                raise ProtocolError(
                    message=f"row {i} has {len(row.cells)} cells, its table {ncols} columns")
            flat.extend(c.SerializeToString() for c in row.cells)
            flat.append(b"")
        flat.pop()
    data = []
    kinds = []
    for c in range(ncols):
        values, kind = _decode_column(flat[c::ncols + 1])
        data.append(values)
        kinds.append(kind)
    return data, kinds


class _NpColumn:
    """A numeric column decoded with numpy: values and a NULL mask (or None)."""

    __slots__ = ("values", "nulls", "kind")

    def __init__(self, values: Any, nulls: Any, kind: str) -> None:
        self.values = values
        self.nulls = nulls
        self.kind = kind

    def tolist(self) -> List[Any]:
        out = self.values.tolist()
        if self.nulls is not None:
            for i in self.nulls.nonzero()[0].tolist():
                out[i] = None
        return out

    def for_pandas(self) -> Any:
        """What pandas.read_sql would make: NULLs make numbers float (NaN), bools object."""
        if self.nulls is None:
            return self.values
        if self.kind == "bool":
            return self.tolist()
        import numpy as np

        out = self.values.astype(np.float64)
        out[self.nulls] = np.nan
        return out

    def to_arrow(self) -> Any:
        import pyarrow as pa

        return pa.array(self.values, mask=self.nulls)


class _ArrowColumn:
    """A text column decoded into an Arrow array (no Python object per cell)."""

    __slots__ = ("array",)

    def __init__(self, array: Any) -> None:
        self.array = array

    def tolist(self) -> List[Any]:
        return self.array.to_pylist()

    def for_pandas(self) -> Any:
        return self.array.to_pandas()

    def to_arrow(self) -> Any:
        return self.array


def _arrow_strings(np: Any, buf: Any, s: Any, e: Any, present: Any, any_null: bool,
                   n: int) -> Optional[_ArrowColumn]:
    """UTF-8 cells [s, e) of `buf` as an Arrow string array, or None (no pyarrow, bad
    UTF-8)."""
    try:
        import pyarrow as pa
    except ImportError:
        return None
    lengths = np.zeros(n, dtype=np.int64)
    lengths[present] = e - s
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    if total:
        out_starts = offsets[:-1][present]
        idx = np.repeat(s - out_starts, e - s) + np.arange(total, dtype=np.int64)
        data = buf[idx]
    else:
        data = np.zeros(0, dtype=np.uint8)
    if total < 2**31 - 1:
        typ, offsets = pa.string(), offsets.astype(np.int32)
    else:
        typ = pa.large_string()
    validity = None
    if any_null:
        validity = pa.py_buffer(np.packbits(present, bitorder="little"))
    try:
        arr = pa.Array.from_buffers(typ, n, [validity, pa.py_buffer(offsets),
                                             pa.py_buffer(data)])
        arr.validate(full=True)
    except (pa.ArrowException, ValueError):
        return None
    return _ArrowColumn(arr)


def _np_varint(np: Any, buf: Any, idx: Any, max_bytes: int) -> Optional[Tuple[Any, Any]]:
    """Varints at every position of `idx`: (position after each, value as uint64)."""
    last = len(buf) - 1
    value = np.zeros(len(idx), dtype=np.uint64)
    size = np.zeros(len(idx), dtype=np.int64)
    more = np.ones(len(idx), dtype=bool)
    for k in range(max_bytes):
        if not more.any():
            break
        b = buf[np.minimum(idx + k, last)].astype(np.uint64)
        value |= np.where(more, (b & np.uint64(0x7F)) << np.uint64(7 * k), np.uint64(0))
        size += more
        more &= b >= 0x80
    else:
        if more.any():
            return None
    return idx + size, value


_STRING_TAGS = {0x2A: "string", 0x32: "bytes", 0x3A: "decimal", 0x42: "date", 0x4A: "time",
                0x52: "timestamp"}


def _decode_rows_numpy(rows: List[bytes], ncols: int) -> Optional[Tuple[List[Any], List[str]]]:
    """Vectorized decoding of the usual encodings (every column one kind, NULLs allowed);
    None (so the caller falls back) for anything else or without numpy."""
    n = len(rows)
    if n < 64 or ncols == 0:
        return None
    try:
        import numpy as np
    except ImportError:
        return None
    joined = b"".join(rows)
    buf = np.frombuffer(joined, dtype=np.uint8)
    lens = np.fromiter(map(len, rows), dtype=np.int64, count=n)
    ends = np.cumsum(lens)
    starts = ends - lens
    if (lens < 2).any() or not (buf[starts] == _TAG_ROW_BYTE).all():
        return None
    got = _np_varint(np, buf, starts + 1, 4)
    if got is None:
        return None
    pos, rowlen = got
    if not (pos + rowlen.astype(np.int64) == ends).all():
        return None
    last = len(buf) - 1
    cols: List[Any] = []
    kinds: List[str] = []
    for _ in range(ncols):
        if not (pos < ends).all() or not (buf[pos] == 0x0A).all():
            return None
        got = _np_varint(np, buf, pos + 1, 4)
        if got is None:
            return None
        q, clen = got
        clen = clen.astype(np.int64)
        cend = q + clen
        if (clen == 0).any() or (cend > ends).any():
            return None
        tag = buf[q]
        nulls = tag == 0x0A
        any_null = bool(nulls.any())
        if any_null and not ((clen[nulls] == 2).all() and (buf[q[nulls] + 1] == 0).all()):
            return None
        present = ~nulls
        if not present.any():
            cols.append([None] * n)
            kinds.append("null")
            pos = cend
            continue
        first = int(tag[present.nonzero()[0][0]])
        if not (tag[present] == first).all():
            return None
        mask = nulls if any_null else None
        if first == 0x21:  # double
            if not (clen[present] == 9).all():
                return None
            # Rows of 8 bytes starting at every byte: gather the ones after each tag.
            windows = np.lib.stride_tricks.as_strided(
                buf, shape=(len(buf) - 7, 8), strides=(1, 1), writeable=False)
            values = windows[np.minimum(q + 1, len(buf) - 8)].view("<f8").reshape(n)
            cols.append(_NpColumn(values, mask, "double"))
            kinds.append("double")
        elif first in (0x18, 0x10):  # int64, bool
            got = _np_varint(np, buf, q + 1, 10)
            if got is None:
                return None
            after, value = got
            if not (after[present] == cend[present]).all():
                return None
            if first == 0x18:
                cols.append(_NpColumn(value.view(np.int64), mask, "int64"))
                kinds.append("int64")
            else:
                cols.append(_NpColumn(value != 0, mask, "bool"))
                kinds.append("bool")
        elif first in _STRING_TAGS:
            got = _np_varint(np, buf, q + 1, 4)
            if got is None:
                return None
            s, m = got
            e = s + m.astype(np.int64)
            if not (e[present] == cend[present]).all():
                return None
            kind = _STRING_TAGS[first]
            if any_null:
                s, e = s[present], e[present]
            if kind == "string":
                col = _arrow_strings(np, buf, s, e, present, any_null, n)
                if col is not None:
                    cols.append(col)
                    kinds.append(kind)
                    pos = cend
                    continue
            pieces = [joined[a:b] for a, b in zip(s.tolist(), e.tolist())]
            values = _convert(kind, pieces)
            if any_null:
                it = iter(values)
                values = [None if isnull else next(it) for isnull in nulls.tolist()]
            cols.append(values)
            kinds.append(kind)
        else:
            return None
        pos = cend
    if not (pos == ends).all():
        return None
    return cols, kinds


# --------------------------------------------------------------------------------------
# Helpers


def _clip(s: Any, limit: int = 1 << 20) -> str:
    if not isinstance(s, str):
        s = str(s)
    return s if len(s) <= limit else s[:limit] + "..."


def _parse_server(server: str) -> Tuple[str, bool]:
    """`host:port`, `http://host:port` or `https://host:port` → (target, tls)."""
    if not isinstance(server, str) or not server.strip():
        raise InvalidArgument(message=f"invalid server address {server!r}")
    s = server.strip()
    tls = False
    if "://" in s:
        scheme, _, rest = s.partition("://")
        scheme = scheme.lower()
        if scheme not in ("http", "https", "grpc", "grpcs"):
            raise InvalidArgument(
                message=f"invalid server address {server!r}: use host:port, http://host:port "
                "or https://host:port")
        tls = scheme in ("https", "grpcs")
        s = rest
    s = s.rstrip("/")
    if not s or "/" in s or any(ch.isspace() for ch in s) or "@" in s:
        raise InvalidArgument(message=f"invalid server address {server!r}")
    if not (s.rsplit(":", 1)[-1].isdigit() and ":" in s and not s.endswith("]")):
        s += ":443" if tls else ":80"
    return s, tls


def _ms_to_datetime(ms: int) -> Optional[_dt.datetime]:
    if ms <= 0:
        return None
    try:
        return _dt.datetime.fromtimestamp(ms / 1000.0, tz=_dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


# --------------------------------------------------------------------------------------
# The client


class Client:
    """A connection to a SQLFlow server.

    ``server``: ``host:port``, ``http://host:port`` or ``https://host:port`` (default
    ``$SQLFLOW_SERVER``, else ``http://127.0.0.1:50051``). ``token``: the access token
    (default ``$SQLFLOW_TOKEN``), sent as ``authorization: Bearer <token>``.
    ``datasource``: ``sqlite://...``, ``mysql://...`` or ``postgres://...`` (default
    ``$SQLFLOW_DATASOURCE``, else the server's). ``ca_cert``: a PEM file (or its bytes)
    to trust for ``https://`` (default ``$SQLFLOW_CA_CERT``, else the system's roots).
    ``max_buffer_bytes`` bounds what one :class:`Job` keeps in memory.

        client = Client("127.0.0.1:50051")
        job = client.run("SELECT 42 AS answer")
        print(job.results()[0].rows)       # [(42,)]
        for info in client.jobs():
            print(info.job_id, info.status.name, info.summary)
    """

    def __init__(
        self,
        server: Optional[str] = None,
        token: Optional[str] = None,
        datasource: Optional[str] = None,
        ca_cert: Union[None, str, bytes, "os.PathLike[str]"] = None,
        *,
        max_buffer_bytes: int = DEFAULT_MAX_BUFFER_BYTES,
    ) -> None:
        for name, v in (("server", server), ("token", token), ("datasource", datasource)):
            if v is not None and not isinstance(v, str):
                raise TypeError(f"{name} must be a str, not {type(v).__name__}")
        if not isinstance(max_buffer_bytes, int) or max_buffer_bytes <= 0:
            raise TypeError("max_buffer_bytes must be a positive int")
        self.server: str = server or os.environ.get("SQLFLOW_SERVER") or DEFAULT_SERVER
        self.token: Optional[str] = token or os.environ.get("SQLFLOW_TOKEN") or None
        self.datasource: str = datasource or os.environ.get("SQLFLOW_DATASOURCE") or ""
        self.max_buffer_bytes = max_buffer_bytes
        if self.token is not None and any(c in self.token for c in "\r\n\0"):
            raise InvalidArgument(message="the token holds a line break or NUL")
        target, tls = _parse_server(self.server)
        self._target = target
        options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            # A restarted server is found again within about a second.
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.min_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 1000),
            ("grpc.primary_user_agent", "sqlflow-python"),
        ]
        if tls:
            if ca_cert is None and os.environ.get("SQLFLOW_CA_CERT"):
                ca_cert = os.environ["SQLFLOW_CA_CERT"]
            roots = None
            if isinstance(ca_cert, bytes):
                roots = ca_cert
            elif ca_cert is not None:
                with open(ca_cert, "rb") as f:
                    roots = f.read(1 << 20)
            creds = grpc.ssl_channel_credentials(root_certificates=roots)
            self._channel = grpc.secure_channel(target, creds, options=options)
        else:
            if ca_cert is not None and not isinstance(ca_cert, (str, bytes, os.PathLike)):
                raise TypeError("ca_cert must be a path or PEM bytes")
            self._channel = grpc.insecure_channel(target, options=options)
        ser = lambda m: m.SerializeToString()  # noqa: E731
        self._run_rpc = self._channel.unary_unary(
            "/sqlflow.SQLFlow/Run", request_serializer=ser,
            response_deserializer=pb.JobID.FromString)
        self._fetch_rpc = self._channel.unary_unary(
            "/sqlflow.SQLFlow/Fetch", request_serializer=ser,
            response_deserializer=_RawResponses.FromString)
        self._cancel_rpc = self._channel.unary_unary(
            "/sqlflow.SQLFlow/Cancel", request_serializer=ser,
            response_deserializer=pb.JobStatus.FromString)
        self._list_rpc = self._channel.unary_unary(
            "/sqlflow.SQLFlow/ListJobs", request_serializer=ser,
            response_deserializer=pb.ListJobsResponse.FromString)

    # -- plumbing --

    def _metadata(self) -> List[Tuple[str, str]]:
        return [("authorization", f"Bearer {self.token}")] if self.token else []

    def _error(self, e: grpc.RpcError) -> SQLFlowError:
        err = errors.from_grpc(e)
        if isinstance(err, Unavailable):
            err = Unavailable(err.code, f"cannot reach the SQLFlow server at {self.server}: "
                              f"{err.message} (set server= or SQLFLOW_SERVER)")
        return err

    def _call(self, rpc: Any, request: Any, timeout: float = 30.0) -> Any:
        try:
            return rpc(request, timeout=timeout, metadata=self._metadata())
        except grpc.RpcError as e:
            raise self._error(e) from None

    def close(self) -> None:
        """Closes the connection (jobs keep running on the server)."""
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(server={self.server!r})"

    # -- the API --

    def run(
        self,
        sql: str,
        *,
        detach: bool = False,
        timeout: Optional[int] = None,
        request_id: Optional[str] = None,
        datasource: Optional[str] = None,
    ) -> "Job":
        """Submits a SQL program (statements separated by ``;``) and returns its
        :class:`Job` at once; the job runs on the server.

        ``detach``: you will not follow it (the server never cancels it as abandoned).
        ``timeout``: abandonment timeout in seconds: the server cancels the job after
        that long without anybody fetching it (default: the server's).
        ``request_id``: an idempotency key: submitting again with the same id returns the
        same job (and lets the client retry the submission across a server restart).

            job = client.run("CREATE TABLE t AS SELECT 1 AS a; SELECT * FROM t")
            job.wait()
        """
        if not isinstance(sql, str):
            raise TypeError(f"sql must be a str, not {type(sql).__name__}")
        if not sql.strip():
            raise InvalidArgument(message="the program is empty")
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
                raise TypeError("timeout must be a number of seconds")
            if timeout != int(timeout) or not 0 < timeout <= _MAX_TIMEOUT:
                raise InvalidArgument(
                    message=f"timeout must be whole seconds between 1 and {_MAX_TIMEOUT}")
        if request_id is not None and (not isinstance(request_id, str)
                                       or not 0 < len(request_id) <= _MAX_ID):
            raise InvalidArgument(message="request_id must be a non-empty str of at most "
                                  f"{_MAX_ID} characters")
        if datasource is not None and not isinstance(datasource, str):
            raise TypeError("datasource must be a str")
        req = pb.Request(
            sql=sql,
            session=pb.Session(db_conn_str=datasource or self.datasource,
                               exit_on_submit=bool(detach)),
            request_id=request_id or "",
            timeout_seconds=int(timeout or 0),
        )
        started = time.monotonic()
        while True:
            try:
                reply = self._run_rpc(req, timeout=60.0, metadata=self._metadata())
                break
            except grpc.RpcError as e:
                # Without a request id a retried Run could start the program twice.
                if (request_id and e.code() == grpc.StatusCode.UNAVAILABLE
                        and time.monotonic() - started < RETRY_FOR_SECONDS):
                    time.sleep(0.5)
                    continue
                raise self._error(e) from None
        return Job(self, _clip(reply.job_id, _MAX_ID), reached=True)

    def attach(self, job_id: str) -> "Job":
        """The :class:`Job` with this id (yours, from ``run(detach=True)`` or
        ``client.jobs()``), to follow from its start::

            job = client.attach("5b0c...")
            print(job.status())
        """
        if not isinstance(job_id, str):
            raise TypeError(f"job_id must be a str, not {type(job_id).__name__}")
        if not job_id or len(job_id) > _MAX_ID:
            raise InvalidArgument(message=f"invalid job id {job_id[:80]!r}")
        return Job(self, job_id, reached=False)

    def jobs(self, page_size: int = 0, limit: Optional[int] = None) -> List[JobInfo]:
        """Your jobs, newest first (every page, or the first ``limit``)."""
        if not isinstance(page_size, int) or page_size < 0:
            raise TypeError("page_size must be a non-negative int")
        out: List[JobInfo] = []
        token = ""
        seen = set()
        while True:
            reply = self._call(self._list_rpc,
                               pb.ListJobsRequest(page_size=page_size, page_token=token))
            for j in reply.jobs:
                out.append(JobInfo(
                    job_id=_clip(j.job_id, _MAX_ID),
                    status=JobStatus._from_pb(j.status),
                    submitted_at=_ms_to_datetime(j.submitted_at_ms),
                    finished_at=_ms_to_datetime(j.finished_at_ms),
                    summary=_clip(j.summary, 4096),
                    request_id=_clip(j.request_id, _MAX_ID),
                ))
                if limit is not None and len(out) >= limit:
                    return out
            token = reply.next_page_token
            if not token:
                return out
            if token in seen or len(seen) > 100_000:
                raise ProtocolError(message="ListJobs repeats a page token")
            seen.add(token)


class Job:
    """A submitted SQL program.

    ``id`` is its job id. Iterating follows it as it runs and yields its events in order
    (each at most once per iteration; a second iteration replays them from the start)::

        for ev in job:
            if isinstance(ev, Result):       # a table, when its statement ends
                print(ev.to_pandas())
            elif isinstance(ev, Log):        # ev.kind: LOG, PROGRESS or ERROR
                print(ev.text)
            elif isinstance(ev, Figure):
                ev.save(ev.title + ".png")
            elif isinstance(ev, StatementEnd):
                print("done:", ev.sql)

    Iteration ends when the job does, raising :class:`JobFailed` or
    :class:`JobCancelled` if it failed or was cancelled. ``wait()``, ``results()``,
    ``logs()`` and ``figures()`` follow the job to its end first.
    """

    def __init__(self, client: Client, job_id: str, *, reached: bool) -> None:
        self.client = client
        self.id = job_id
        self._reached = reached
        self._lock = threading.RLock()
        self._cursor = ""
        self._eof = False
        self._status = JobStatus(StatusCode.PENDING)
        self._events: List[Event] = []
        self._buffered = 0
        self._head: Optional[Tuple[List[str], List[str]]] = None
        self._rows: List[bytes] = []
        self._statement = 0

    @property
    def job_id(self) -> str:
        return self.id

    @property
    def cursor(self) -> str:
        """How far this Job has read the output (opaque; the server's cursor)."""
        return self._cursor

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, status={self._status.name})"

    # -- following --

    def _fetch_page(self, wait_ms: int) -> None:
        """One Fetch from the cursor; retries an unreachable server for up to a minute
        once it has answered us (a restart), with the same cursor."""
        req = pb.FetchRequest(job=pb.JobID(job_id=self.id), cursor=self._cursor,
                              wait_ms=wait_ms)
        since: Optional[float] = None
        while True:
            try:
                reply = self.client._fetch_rpc(req, timeout=wait_ms / 1000.0 + 30.0,
                                               metadata=self.client._metadata())
                break
            except grpc.RpcError as e:
                code = e.code()
                lost = code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
                if lost and self._reached:
                    since = since if since is not None else time.monotonic()
                    if time.monotonic() - since <= RETRY_FOR_SECONDS:
                        time.sleep(0.5)
                        continue
                err = self.client._error(e)
                if isinstance(err, Unavailable):
                    err.message += (f"; the job may still be running: "
                                    f"client.attach({self.id!r})")
                raise err from None
        self._reached = True
        if len(reply.next_cursor) > 4096:
            raise ProtocolError(message="the server sent an oversized cursor")
        try:
            status = JobStatus._from_pb(pb.JobStatus.FromString(reply.job_status))
        except DecodeError as e:
            raise ProtocolError(message=f"the job status does not decode: {e}") from None
        self._take_all(list(reply.response))
        self._status = status
        self._cursor = reply.next_cursor
        if reply.eof:
            self._eof = True
            self._head = None
            self._rows = []

    def _take_all(self, resps: List[bytes]) -> None:
        """A page of responses; runs of rows are taken in bulk."""
        if not resps:
            return
        if b"" in resps:
            for b in resps:
                self._take(b)
            return
        tags = b"".join(map(_FIRST_BYTE, resps))
        start = 0
        for m in _NOT_ROW.finditer(tags):
            self._take_rows(resps, start, m.start())
            self._take(resps[m.start()])
            start = m.end()
        self._take_rows(resps, start, len(resps))

    def _take_rows(self, resps: List[bytes], a: int, b: int) -> None:
        if a >= b:
            return
        if self._head is None:
            self._take(resps[a])  # a ProtocolError
            a += 1
        run = resps[a:b]
        self._buffered += sum(map(len, run))
        if self._buffered > self.client.max_buffer_bytes:
            raise ResourceExhausted(
                message=f"job {self.id}: its output exceeds max_buffer_bytes="
                f"{self.client.max_buffer_bytes} (Client(max_buffer_bytes=...))")
        self._rows.extend(run)

    def _keep(self, ev: Event, size: int) -> None:
        self._buffered += size
        if self._buffered > self.client.max_buffer_bytes:
            raise ResourceExhausted(
                message=f"job {self.id}: its output exceeds max_buffer_bytes="
                f"{self.client.max_buffer_bytes} (Client(max_buffer_bytes=...))")
        self._events.append(ev)

    def _take(self, b: bytes) -> None:
        """One response's encoding."""
        if b[:1] == b"\x12" and self._head is not None:
            self._buffered += len(b)
            if self._buffered > self.client.max_buffer_bytes:
                raise ResourceExhausted(
                    message=f"job {self.id}: its output exceeds max_buffer_bytes="
                    f"{self.client.max_buffer_bytes} (Client(max_buffer_bytes=...))")
            self._rows.append(b)
            return
        try:
            resp = pb.Response.FromString(b)
        except DecodeError as e:
            raise ProtocolError(message=f"a response does not decode: {e}") from None
        kind = resp.WhichOneof("response")
        if kind == "head":
            self._flush(None)
            names = [_clip(c, 4096) for c in resp.head.column_names]
            if len(names) > MAX_COLUMNS:
                raise ProtocolError(message=f"a table with {len(names)} columns")
            types = [_clip(t, 4096) for t in resp.head.column_types]
            types = (types + [""] * len(names))[: len(names)]
            self._head = (names, types)
            self._rows = []
        elif kind == "row":
            if self._head is None:
                raise ProtocolError(message="a row before any table head")
            self._rows.append(b)  # not a plain encoding; decoded row by row
        elif kind == "message":
            m = resp.message
            try:
                k = LogKind(int(m.kind))
            except ValueError:
                k = LogKind.LOG
            text = _clip(m.message)
            self._keep(Log(text, k, self._statement), len(text))
        elif kind == "figure":
            f = resp.figure
            self._keep(Figure(_clip(f.title, 4096), _clip(f.mime_type, 256), bytes(f.data),
                              self._statement), len(f.data))
        elif kind == "eoe":
            e = resp.eoe
            sql = _clip(e.sql)
            idx = int(e.statement_index)
            self._flush((idx, sql))
            spent = (e.spent_time_micros / 1e6 if e.spent_time_micros
                     else float(e.spent_time_seconds))
            self._keep(StatementEnd(sql, idx, spent), len(sql))
            self._statement = idx + 1
        # An empty or unknown response (a newer server) is skipped.

    def _flush(self, end: Optional[Tuple[int, str]]) -> None:
        """The table being received is complete (its statement ended)."""
        if self._head is None:
            return
        names, types = self._head
        rows = self._rows
        self._head, self._rows = None, []
        if end is None:  # a new head without an end: keep it anyway
            end = (self._statement, "")
        self._events.append(Result(names, types, rows, end[0], end[1]))

    def _outcome(self) -> JobStatus:
        st = self._status
        if st.code == StatusCode.FAILED:
            raise JobFailed(st.message, job_id=self.id)
        if st.code == StatusCode.CANCELLED:
            raise JobCancelled(st.message, job_id=self.id)
        return st

    def events(self, *, raise_on_failure: bool = True) -> Iterator[Event]:
        """The job's events, as they arrive (what ``for ev in job`` yields)."""
        i = 0
        while True:
            with self._lock:
                if i < len(self._events):
                    ev = self._events[i]
                elif self._eof:
                    break
                else:
                    self._fetch_page(WAIT_MS)
                    continue
            i += 1
            yield ev
        if raise_on_failure:
            self._outcome()

    def __iter__(self) -> Iterator[Event]:
        return self.events()

    def wait(self, timeout: Optional[float] = None) -> JobStatus:
        """Follows the job to its end and returns its final :class:`JobStatus`.

        Raises :class:`JobFailed` (with ``.statement`` and ``.error``) if it failed,
        :class:`JobCancelled` if it was cancelled, :class:`DeadlineExceeded` (also a
        ``TimeoutError``) if ``timeout`` seconds pass first (the job keeps running)."""
        if timeout is not None and (isinstance(timeout, bool)
                                    or not isinstance(timeout, (int, float)) or timeout < 0):
            raise TypeError("timeout must be a non-negative number of seconds")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not self._eof:
                wait_ms = WAIT_MS
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise DeadlineExceeded(
                            message=f"job {self.id} is still {self._status.name} after "
                            f"{timeout} s")
                    wait_ms = max(0, min(WAIT_MS, int(left * 1000)))
                self._fetch_page(wait_ms)
            return self._outcome()

    def status(self) -> JobStatus:
        """The job's status now (one short Fetch; nothing is consumed)."""
        if self._eof:
            return self._status
        req = pb.FetchRequest(job=pb.JobID(job_id=self.id), cursor=self._cursor, wait_ms=0)
        reply = self.client._call(self.client._fetch_rpc, req)
        try:
            return JobStatus._from_pb(pb.JobStatus.FromString(reply.job_status))
        except DecodeError as e:
            raise ProtocolError(message=f"the job status does not decode: {e}") from None

    def cancel(self) -> JobStatus:
        """Stops the job; returns its status (cancelling a finished job is harmless)."""
        reply = self.client._call(self.client._cancel_rpc, pb.JobID(job_id=self.id))
        return JobStatus._from_pb(reply)

    def results(self) -> List[Result]:
        """Follows the job to its end; one :class:`Result` per statement that returned
        rows. Raises :class:`JobFailed` / :class:`JobCancelled` like ``wait()``."""
        self.wait()
        return [e for e in self._events if isinstance(e, Result)]

    def logs(self) -> List[Log]:
        """Follows the job to its end; its log lines (also when it failed)."""
        self._drain()
        return [e for e in self._events if isinstance(e, Log)]

    def figures(self) -> List[Figure]:
        """Follows the job to its end; the figures the server drew."""
        self._drain()
        return [e for e in self._events if isinstance(e, Figure)]

    def _drain(self) -> None:
        with self._lock:
            while not self._eof:
                self._fetch_page(WAIT_MS)
