"""DB-API 2.0 (PEP 249) over the SQLFlow server, so tools written for databases work::

    import pandas, sqlflow

    conn = sqlflow.connect("127.0.0.1:50051")          # or $SQLFLOW_SERVER
    df = pandas.read_sql("SELECT * FROM iris.train", conn)

    cur = conn.cursor()
    cur.execute("SELECT class, COUNT(*) FROM iris.train GROUP BY class")
    print(cur.description, cur.fetchall())

Each ``execute`` runs the SQL program as one job and waits for it; every statement
commits on its own (the server has no transactions across jobs). A program with several
statements that return rows gives several result sets (``nextset()``).

Parameters are not supported: the server takes program text, and quoting values into
it safely depends on the database's dialect (MySQL's backslash escapes, for one), so
``execute(sql, params)`` with non-empty ``params`` raises :class:`NotSupportedError`
rather than risk SQL injection. Build literals yourself only from trusted values.
"""

from __future__ import annotations

import datetime as _dt
import re
import time as _time
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

from . import errors as _errors
from .client import Client, Log, Result

__all__ = [
    "apilevel", "threadsafety", "paramstyle", "connect", "Connection", "Cursor",
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError",
    "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
    "NotSupportedError", "STRING", "BINARY", "NUMBER", "DATETIME", "ROWID",
    "Date", "Time", "Timestamp", "DateFromTicks", "TimeFromTicks",
    "TimestampFromTicks", "Binary",
]

apilevel = "2.0"
#: Threads may share the module and connections, not cursors.
threadsafety = 2
#: Declared as PEP 249 requires; any non-empty parameters raise NotSupportedError.
paramstyle = "qmark"


# --------------------------------------------------------------------------------------
# Exceptions (PEP 249's hierarchy; each is also a SQLFlowError with the gRPC code)


class Warning(Exception):  # noqa: A001 - the name PEP 249 requires
    """PEP 249 Warning."""


class Error(_errors.SQLFlowError):
    """Base of the DB-API errors; ``code`` and ``message`` as in :mod:`sqlflow.errors`."""


class InterfaceError(Error):
    """Misuse of this module: a closed cursor or connection, a bad argument type."""


class DatabaseError(Error):
    """An error of the database or the server."""


class DataError(DatabaseError):
    """Bad data: division by zero, a value out of range."""


class OperationalError(DatabaseError):
    """The server is unreachable, refused the token, or the job was cancelled."""


class IntegrityError(DatabaseError):
    """A constraint failed (unique key, foreign key, NOT NULL)."""


class InternalError(DatabaseError):
    """The server replied something this client does not understand."""


class ProgrammingError(DatabaseError):
    """A bad statement: syntax error, unknown table or column, an invalid request."""


class NotSupportedError(DatabaseError):
    """Parameters, rollback: things the server cannot do."""


_INTEGRITY = re.compile(r"constraint|duplicate|unique|foreign key|not null", re.I)
_DATA = re.compile(r"division by zero|out of range|overflow|invalid input|incorrect .* value",
                   re.I)
_PROGRAMMING = re.compile(
    r"syntax|no such|does(?:n't| not) exist|unknown|not found|ambiguous|near \"", re.I)


def _translate(e: _errors.SQLFlowError) -> Error:
    """The PEP 249 error for a client error."""
    cls: type
    if isinstance(e, _errors.JobFailed):
        text = e.error or e.message
        if _INTEGRITY.search(text):
            cls = IntegrityError
        elif _DATA.search(text):
            cls = DataError
        elif _PROGRAMMING.search(text):
            cls = ProgrammingError
        else:
            cls = DatabaseError
    elif isinstance(e, _errors.ProtocolError):
        cls = InternalError
    elif isinstance(e, (_errors.InvalidArgument, _errors.NotFound)):
        cls = ProgrammingError
    else:  # unauthenticated, unavailable, cancelled, resource exhausted, ...
        cls = OperationalError
    out = cls(e.code, e.message)
    for k in ("statement", "statement_index", "error", "job_id"):
        if hasattr(e, k):
            setattr(out, k, getattr(e, k))
    return out


# --------------------------------------------------------------------------------------
# Types


class _TypeObject:
    def __init__(self, *kinds: str) -> None:
        self.kinds = frozenset(kinds)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _TypeObject):
            return self.kinds == other.kinds
        return other in self.kinds

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.kinds)

    def __repr__(self) -> str:
        return f"DBAPITypeObject({', '.join(sorted(self.kinds))})"


#: type codes in ``description`` are the cell kinds: "int64", "double", "string", "bytes",
#: "bool", "decimal", "date", "time", "timestamp", "null" (all NULL) or "mixed".
STRING = _TypeObject("string")
BINARY = _TypeObject("bytes")
NUMBER = _TypeObject("int64", "double", "decimal", "bool")
DATETIME = _TypeObject("date", "time", "timestamp")
ROWID = _TypeObject("int64")

Date = _dt.date
Time = _dt.time
Timestamp = _dt.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> _dt.date:
    return Date(*_time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> _dt.time:
    return Time(*_time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> _dt.datetime:
    return Timestamp(*_time.localtime(ticks)[:6])


# --------------------------------------------------------------------------------------
# Connection and cursor


def connect(server: Optional[str] = None, token: Optional[str] = None,
            datasource: Optional[str] = None, ca_cert: Any = None) -> "Connection":
    """A DB-API connection to a SQLFlow server (arguments as :class:`sqlflow.Client`)."""
    try:
        return Connection(Client(server=server, token=token, datasource=datasource,
                                 ca_cert=ca_cert))
    except _errors.SQLFlowError as e:
        raise _translate(e) from e
    except TypeError as e:
        raise InterfaceError("INVALID_ARGUMENT", str(e)) from e


class Connection:
    """PEP 249 connection. Statements auto-commit: ``commit()`` does nothing."""

    # PEP 249's optional extension: the exceptions as connection attributes.
    Warning = Warning
    Error = Error
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    DataError = DataError
    OperationalError = OperationalError
    IntegrityError = IntegrityError
    InternalError = InternalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError

    def __init__(self, client: Client) -> None:
        self.client = client
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError("FAILED_PRECONDITION", "the connection is closed")

    def cursor(self) -> "Cursor":
        """A new cursor."""
        self._check()
        return Cursor(self)

    def close(self) -> None:
        """Closes the connection; jobs already submitted keep running."""
        if not self._closed:
            self._closed = True
            self.client.close()

    def commit(self) -> None:
        """Does nothing: every statement is committed when its job runs it (the server
        keeps no transaction open between calls)."""
        self._check()

    def rollback(self) -> None:
        """Not supported: statements auto-commit, there is nothing to roll back."""
        self._check()
        raise NotSupportedError("UNIMPLEMENTED",
                                "SQLFlow runs each statement in auto-commit mode; "
                                "there is no transaction to roll back")

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_AFFECTED = re.compile(r"^(\d+) rows? affected")

Description = Tuple[str, Any, None, None, None, None, Optional[bool]]


class Cursor:
    """PEP 249 cursor: ``execute`` runs a program as one job and waits for it."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self._closed = False
        self._sets: List[Result] = []
        self._set = -1
        self._rows: Sequence[tuple] = []
        self._pos = 0
        self._rowcount = -1
        self._affected = -1
        self.job_id: Optional[str] = None

    # -- state --

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError("FAILED_PRECONDITION", "the cursor is closed")
        self.connection._check()

    @property
    def description(self) -> Optional[List[Description]]:
        """(name, type_code, None, None, None, None, null_ok) per column, or None when
        the last execute returned no rows."""
        if not (0 <= self._set < len(self._sets)):
            return None
        res = self._sets[self._set]
        out = []
        for i, name in enumerate(res.columns):
            kind = res._kinds[i]
            null_ok = None
            if len(res):
                null_ok = any(v is None for v in res._data[i])
            out.append((name, kind, None, None, None, None, null_ok))
        return out

    @property
    def rowcount(self) -> int:
        """Rows in the current result set, else rows affected (when the server said so),
        else -1."""
        return self._rowcount

    @property
    def lastrowid(self) -> None:
        return None

    def _select(self, i: int) -> None:
        self._set = i
        if 0 <= i < len(self._sets):
            self._rows = self._sets[i].rows
            self._rowcount = len(self._rows)
        else:
            self._rows = []
            self._rowcount = self._affected
        self._pos = 0

    # -- execution --

    def execute(self, operation: str, parameters: Optional[Union[Sequence[Any], dict]] = None
                ) -> "Cursor":
        """Runs ``operation`` (one or more statements) and waits for it to end."""
        self._check()
        if not isinstance(operation, str):
            raise InterfaceError("INVALID_ARGUMENT",
                                 f"operation must be a str, not {type(operation).__name__}")
        if parameters:
            raise NotSupportedError(
                "UNIMPLEMENTED",
                "query parameters are not supported: the server takes program text and "
                "values cannot be quoted into it safely for every database; pass "
                "trusted literals in the SQL")
        if parameters is not None and not isinstance(parameters, (list, tuple, dict)):
            raise InterfaceError("INVALID_ARGUMENT", "parameters must be a sequence or dict")
        self._sets, self._set, self._rows, self._pos = [], -1, [], 0
        self._rowcount = self._affected = -1
        try:
            job = self.connection.client.run(operation)
            self.job_id = job.id
            self._sets = job.results()
            affected = None
            for ev in job.logs():
                m = _AFFECTED.match(ev.text) if isinstance(ev, Log) else None
                if m:
                    affected = (affected or 0) + int(m.group(1))
            if affected is not None:
                self._affected = affected
        except _errors.SQLFlowError as e:
            raise _translate(e) from e
        self._select(0)
        return self

    def executemany(self, operation: str,
                    seq_of_parameters: Sequence[Union[Sequence[Any], dict]]) -> "Cursor":
        """Runs ``operation`` once per parameter set (which must all be empty)."""
        self._check()
        total = 0
        for params in seq_of_parameters:
            self.execute(operation, params)
            if self._affected > 0:
                total += self._affected
        self._rowcount = total if total else self._rowcount
        return self

    def callproc(self, procname: str, parameters: Any = None) -> Any:
        raise NotSupportedError("UNIMPLEMENTED", "stored procedures are not supported")

    def nextset(self) -> Optional[bool]:
        """Moves to the next result set; None when there is none."""
        self._check()
        if self._set + 1 < len(self._sets):
            self._select(self._set + 1)
            return True
        return None

    # -- fetching --

    def _need_rows(self) -> None:
        self._check()
        if not (0 <= self._set < len(self._sets)):
            raise ProgrammingError("FAILED_PRECONDITION",
                                   "no result set: execute a statement that returns rows")

    def fetchone(self) -> Optional[tuple]:
        self._need_rows()
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: Optional[int] = None) -> List[tuple]:
        self._need_rows()
        n = self.arraysize if size is None else size
        if not isinstance(n, int) or n < 0:
            raise InterfaceError("INVALID_ARGUMENT", "size must be a non-negative int")
        rows = list(self._rows[self._pos:self._pos + n])
        self._pos += len(rows)
        return rows

    def fetchall(self) -> List[tuple]:
        self._need_rows()
        rows = list(self._rows[self._pos:])
        self._pos = len(self._rows)
        return rows

    def __iter__(self) -> Iterator[tuple]:
        while True:
            row = self.fetchone()
            if row is None:
                return
            yield row

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def close(self) -> None:
        self._closed = True
        self._sets, self._rows = [], []

    def __enter__(self) -> "Cursor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
