"""Exceptions of the SQLFlow client.

Every error the server reports is a :class:`SQLFlowError` carrying the gRPC status code
name (``err.code``, for example ``"NOT_FOUND"``) and the server's message
(``err.message``)::

    from sqlflow import Client, errors

    try:
        Client().attach("no-such-job").status()
    except errors.NotFound as e:
        print(e.code, e.message)     # NOT_FOUND no job with id 'no-such-job'

A job that ends ``FAILED`` raises :class:`JobFailed` from ``Job.wait()``,
``Job.results()`` and iteration; one that ends ``CANCELLED`` raises
:class:`JobCancelled`.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional, Type

__all__ = [
    "SQLFlowError",
    "Unauthenticated",
    "PermissionDenied",
    "NotFound",
    "InvalidArgument",
    "ResourceExhausted",
    "Unavailable",
    "DeadlineExceeded",
    "AlreadyExists",
    "ProtocolError",
    "JobFailed",
    "JobCancelled",
    "from_grpc",
]


class SQLFlowError(Exception):
    """An error from the SQLFlow server or the client.

    ``code`` is the gRPC status code name (``"UNAVAILABLE"``, ``"NOT_FOUND"``, ...; for
    job outcomes ``"FAILED"`` / ``"CANCELLED"``), ``message`` the server's text.
    """

    default_code = "UNKNOWN"

    def __init__(self, code: Optional[str] = None, message: str = "") -> None:
        self.code: str = code or self.default_code
        self.message: str = message
        super().__init__(f"{self.code}: {message}" if message else self.code)

    def __reduce__(self):  # picklable (multiprocessing, notebooks)
        return (_rebuild, (type(self), self.code, self.message, dict(self.__dict__)))


def _rebuild(cls, code, message, state):
    err = cls.__new__(cls)
    SQLFlowError.__init__(err, code, message)
    err.__dict__.update(state)
    return err


class Unauthenticated(SQLFlowError):
    """The server needs a token (``SQLFLOW_TOKEN`` / ``token=``) or refused the one given."""

    default_code = "UNAUTHENTICATED"


class PermissionDenied(SQLFlowError):
    """The caller may not do this (another user's job, a datasource not allowed)."""

    default_code = "PERMISSION_DENIED"


class NotFound(SQLFlowError):
    """No such job (or it is not yours)."""

    default_code = "NOT_FOUND"


class InvalidArgument(SQLFlowError):
    """The server refused the request: empty or oversized program, bad cursor, ..."""

    default_code = "INVALID_ARGUMENT"


class AlreadyExists(SQLFlowError):
    """A ``request_id`` was reused with a different request."""

    default_code = "ALREADY_EXISTS"


class ResourceExhausted(SQLFlowError):
    """A limit was hit: the server's (too many jobs) or the client's (result too large)."""

    default_code = "RESOURCE_EXHAUSTED"


class Unavailable(SQLFlowError):
    """The server cannot be reached (wrong address, down, or restarting for too long)."""

    default_code = "UNAVAILABLE"


class DeadlineExceeded(SQLFlowError, TimeoutError):
    """A call or ``Job.wait(timeout=...)`` ran out of time."""

    default_code = "DEADLINE_EXCEEDED"


class ProtocolError(SQLFlowError):
    """The server's reply does not make sense (for example a row wider than its head)."""

    default_code = "INTERNAL"


_FAILED = re.compile(
    r"^statement (?P<index>\d+) of (?P<count>\d+) failed: (?P<error>.*?)"
    r"(?:\n  in: (?P<sql>.*))?$",
    re.S,
)


class JobFailed(SQLFlowError):
    """The job ended ``FAILED``.

    ``statement`` is the failing statement as written (``None`` when the server did not
    name it), ``statement_index`` its 0-based position, ``error`` the database's (or
    SQLFlow's) error, ``message`` the whole status message and ``job_id`` the job::

        try:
            client.run("SELECT * FROM missing").wait()
        except JobFailed as e:
            print(e.statement)   # SELECT * FROM missing
            print(e.error)       # no such table: missing
    """

    default_code = "FAILED"

    def __init__(self, message: str = "", job_id: str = "") -> None:
        super().__init__("FAILED", message)
        self.job_id = job_id
        self.statement: Optional[str] = None
        self.statement_index: Optional[int] = None
        self.error: str = message
        m = _FAILED.match(message or "")
        if m:
            self.statement_index = int(m.group("index")) - 1
            self.error = m.group("error")
            sql = m.group("sql")
            if sql is not None:
                # Continuation lines of a multi-line statement are indented alike.
                self.statement = "\n".join(
                    line[4:] if line.startswith("    ") else line
                    for line in sql.split("\n")
                )


class JobCancelled(SQLFlowError):
    """The job ended ``CANCELLED`` (``Job.cancel()``, another client, or abandonment)."""

    default_code = "CANCELLED"

    def __init__(self, message: str = "", job_id: str = "") -> None:
        super().__init__("CANCELLED", message)
        self.job_id = job_id


_BY_CODE: Dict[str, Type[SQLFlowError]] = {
    "UNAUTHENTICATED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
    "NOT_FOUND": NotFound,
    "INVALID_ARGUMENT": InvalidArgument,
    "FAILED_PRECONDITION": InvalidArgument,
    "OUT_OF_RANGE": InvalidArgument,
    "ALREADY_EXISTS": AlreadyExists,
    "RESOURCE_EXHAUSTED": ResourceExhausted,
    "UNAVAILABLE": Unavailable,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
}


def from_grpc(err: Any) -> SQLFlowError:
    """The :class:`SQLFlowError` for a ``grpc.RpcError`` (its code and details)."""
    code = "UNKNOWN"
    message = ""
    try:
        c = err.code()
        code = getattr(c, "name", str(c))
        message = err.details() or ""
    except Exception:  # not a call error: keep what we can
        message = str(err)
    if not isinstance(message, str):
        message = repr(message)
    cls = _BY_CODE.get(code, SQLFlowError)
    e = cls(code, message[:65536])
    return e
