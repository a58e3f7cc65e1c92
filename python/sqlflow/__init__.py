"""SQLFlow from Python: a client, DB-API 2.0, and a Jupyter magic.

    import sqlflow

    client = sqlflow.Client()              # $SQLFLOW_SERVER, $SQLFLOW_TOKEN, ...
    job = client.run("SELECT * FROM iris.train LIMIT 5")
    df = job.results()[0].to_pandas()

    conn = sqlflow.connect()               # PEP 249, for pandas.read_sql and friends
    pandas.read_sql("SELECT * FROM iris.train", conn)

In IPython / Jupyter: ``%load_ext sqlflow``, then ``%%sqlflow`` cells.
"""

from __future__ import annotations

from typing import Any

from .client import (
    Client,
    Event,
    Figure,
    Job,
    JobInfo,
    JobStatus,
    Log,
    LogKind,
    Result,
    StatementEnd,
    StatusCode,
)
from .dbapi import connect
from .errors import (
    InvalidArgument,
    JobCancelled,
    JobFailed,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    SQLFlowError,
    Unauthenticated,
    Unavailable,
)

__version__ = "0.1.0"

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
    "connect",
    "SQLFlowError",
    "Unauthenticated",
    "PermissionDenied",
    "NotFound",
    "InvalidArgument",
    "ResourceExhausted",
    "Unavailable",
    "JobFailed",
    "JobCancelled",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext sqlflow``: registers the ``%sqlflow`` / ``%%sqlflow`` magic."""
    from . import magic

    magic.load_ipython_extension(ip)


def unload_ipython_extension(ip: Any) -> None:
    from . import magic

    unload = getattr(magic, "unload_ipython_extension", None)
    if unload is not None:
        unload(ip)
