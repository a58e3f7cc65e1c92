"""IPython / Jupyter magic for SQLFlow.

Load it in a notebook, point it at a server, and run SQLFlow programs in cells::

    %load_ext sqlflow
    %config SQLFlowMagic.server = 'http://127.0.0.1:50051'

    %%sqlflow
    SELECT * FROM iris.train
    TO TRAIN DNNClassifier WITH model.n_classes = 3, model.hidden_units = [10, 20]
    LABEL class INTO sqlflow_models.my_dnn_model;

While the job runs, the cell shows one status line (status, elapsed seconds, the latest
progress message such as ``epoch 3/10: loss 0.41``) that is updated in place, a block
with the last log lines (bounded: ``SQLFlowMagic.log_lines``), each result table as a
DataFrame as soon as its statement ends (at most ``SQLFlowMagic.display_limit`` rows)
and each figure the server sends (PNG or SVG). Interrupting the kernel (Ctrl+C, the
stop button) cancels the job. A failed job shows the failing statement and the
database's error, without a long traceback.

Other forms::

    %%sqlflow result <<          # keep the last result table in `result`
    SELECT * FROM iris.predict;

    df = %sqlflow SELECT * FROM iris.test     # the line magic returns the last table
    %%sqlflow --detach           # submit, print the job id, return at once
    %sqlflow attach <job-id>     # follow an existing job from its start
    %sqlflow jobs                # your jobs, newest first
    %sqlflow cancel <job-id>     # cancel a job

    %config SQLFlowMagic         # the options: server, datasource, token, ca_cert,
                                 # display_limit, log_lines, timeout

The job last followed (or submitted) by the magic is ``_sqlflow_job`` in the user's
namespace: ``_sqlflow_job.logs()`` has every log line, ``_sqlflow_job.results()`` every
table, ``_sqlflow_job.figures()`` every figure.
"""

from __future__ import annotations

import base64
import html
import queue
import re
import threading
import time
import uuid
from typing import Any, Dict, List, Optional, Tuple

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display, update_display
from traitlets import Int, Unicode, observe

__all__ = ["SQLFlowMagic", "load_ipython_extension", "unload_ipython_extension"]

# Seconds between two updates of the live status line / log block.
_TICK = 0.5
# Seconds between two status queries while no output arrives.
_STATUS_POLL = 2.0
# Jobs `%sqlflow jobs` lists unless told `%sqlflow jobs N` / `%sqlflow jobs all`.
_JOBS_SHOWN = 100
# A failing statement longer than this is cut in the error.
_MAX_STATEMENT_LINES = 12
# How long to wait for a cancelled job to report its final status.
_CANCEL_DRAIN_SECONDS = 20.0

_STATUS_COLORS = {
    "PENDING": "#8a8a8a",
    "RUNNING": "#1f6feb",
    "SUCCEEDED": "#1a7f37",
    "FAILED": "#cf222e",
    "CANCELLED": "#9a6700",
    "UNKNOWN": "#8a8a8a",
}

_USAGE = """\
Usage:
  %%sqlflow [NAME <<] [--detach] [--timeout SECONDS] [--datasource DS]   (cell: the program)
  %sqlflow [NAME <<] [--detach] [--timeout SECONDS] [--datasource DS] SQL
  %sqlflow attach JOB_ID      follow an existing job from its start
  %sqlflow jobs [N|all]       list your jobs, newest first (default: the last 100)
  %sqlflow cancel JOB_ID      cancel a job
Options: %config SQLFlowMagic.server / .datasource / .token / .ca_cert /
         .display_limit / .log_lines / .timeout"""


# --------------------------------------------------------------------------------------
# Errors shown without a long traceback.


def _short_traceback(exc: BaseException, lines: List[str]) -> BaseException:
    """Make IPython show `lines` instead of a traceback when `exc` reaches the cell."""
    try:
        exc._render_traceback_ = lambda: list(lines)  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - exceptions with __slots__
        pass
    return exc


class MagicError(Exception):
    """An error of the magic itself (bad arguments, a failed job, ...), shown briefly."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def _render_traceback_(self) -> List[str]:
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self.message}"]


class JobInterrupted(KeyboardInterrupt):
    """Raised into the cell after Ctrl+C / interrupt kernel cancelled the job."""

    def __init__(self, job_id: str, status: str):
        super().__init__(f"job {job_id} was cancelled ({status})")
        self.job_id = job_id
        self.status = status

    def _render_traceback_(self) -> List[str]:
        return [
            f"\x1b[0;33mKeyboardInterrupt\x1b[0m: job {self.job_id} was cancelled "
            f"(status {self.status})"
        ]


# --------------------------------------------------------------------------------------
# Duck typing over the client's objects: the magic only relies on attribute names.


def _status_name(status: Any) -> str:
    """'RUNNING', 'FAILED', ... from a status enum, object, int or string."""
    if status is None:
        return "UNKNOWN"
    for attr in ("code", "status"):
        inner = getattr(status, attr, None)
        if inner is not None and inner is not status and not callable(inner):
            return _status_name(inner)
    name = getattr(status, "name", None)
    if isinstance(name, str) and name:
        return name.upper()
    if isinstance(status, int):
        names = {0: "PENDING", 1: "RUNNING", 2: "SUCCEEDED", 3: "FAILED", 4: "UNKNOWN",
                 5: "CANCELLED"}
        return names.get(status, "UNKNOWN")
    text = str(status)
    return text.rsplit(".", 1)[-1].upper()


def _status_message(status: Any) -> str:
    msg = getattr(status, "message", None)
    return msg if isinstance(msg, str) else ""


def _event_kind(ev: Any) -> str:
    """'result', 'figure', 'log', 'end' or 'other' for an event of `for ev in job`."""
    name = type(ev).__name__.lower()
    if hasattr(ev, "mime_type") and hasattr(ev, "data"):
        return "figure"
    if hasattr(ev, "columns") and hasattr(ev, "rows"):
        return "result"
    if "statementend" in name or "endofexecution" in name or (
        hasattr(ev, "statement_index") and hasattr(ev, "sql")
    ):
        return "end"
    if "log" in name or "message" in name or hasattr(ev, "kind"):
        return "log"
    return "other"


def _log_text(ev: Any) -> str:
    for attr in ("text", "message", "line"):
        v = getattr(ev, attr, None)
        if isinstance(v, str):
            return v
    return str(ev)


def _log_kind(ev: Any) -> str:
    kind = getattr(ev, "kind", "LOG")
    name = getattr(kind, "name", None)
    if isinstance(name, str):
        return name.upper()
    if isinstance(kind, int):
        return {0: "LOG", 1: "PROGRESS", 2: "ERROR"}.get(kind, "LOG")
    return str(kind).rsplit(".", 1)[-1].upper()


def _job_id(job: Any) -> str:
    jid = getattr(job, "id", None)
    if jid is None:
        jid = getattr(job, "job_id", "")
    return str(jid)


def _attr(obj: Any, *names: str, default: Any = None) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        v = getattr(obj, n, None)
        if v is not None:
            return v() if callable(v) and n not in ("status",) else v
    return default


def _pandas():
    try:
        import pandas  # noqa: F401

        return pandas
    except Exception:
        return None


def _rows_of(result: Any) -> List[Any]:
    rows = getattr(result, "rows", None)
    if callable(rows):
        rows = rows()
    return list(rows) if rows is not None else []


def _columns_of(result: Any) -> List[str]:
    cols = getattr(result, "columns", None)
    if callable(cols):
        cols = cols()
    return [str(c) for c in (cols or [])]


def _to_frame(result: Any):
    """The result as a pandas DataFrame, or None without pandas."""
    pd = _pandas()
    if pd is None:
        return None
    to_pandas = getattr(result, "to_pandas", None)
    if callable(to_pandas):
        return to_pandas()
    return pd.DataFrame(_rows_of(result), columns=_columns_of(result))


# --------------------------------------------------------------------------------------
# Rendering.


def _fmt_seconds(s: float, running: bool) -> str:
    if running:
        s = int(s)
        return f"{s} s" if s < 60 else f"{s // 60} min {s % 60:02d} s"
    return f"{s:.1f} s" if s < 60 else f"{int(s) // 60} min {int(s) % 60:02d} s"


def _html_table(columns: List[str], rows: List[Any]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for r in rows:
        cells = "".join(
            f"<td>{'NULL' if v is None else html.escape(str(v))}</td>" for v in r
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        '<table class="dataframe sqlflow-result"><thead><tr>'
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


def _text_table(columns: List[str], rows: List[Any]) -> str:
    cells = [[("NULL" if v is None else str(v)) for v in r] for r in rows]
    widths = [len(c) for c in columns]
    for r in cells:
        for i, v in enumerate(r[: len(widths)]):
            widths[i] = max(widths[i], len(v))
    line = " | ".join(c.ljust(w) for c, w in zip(columns, widths))
    sep = "-+-".join("-" * w for w in widths)
    out = [line, sep]
    out += [" | ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(out)


def _table_bundle(result: Any, frame: Any, limit: int) -> Dict[str, str]:
    """A display bundle for a result table, showing at most `limit` rows."""
    columns = _columns_of(result)
    if frame is not None:
        total = len(frame)
        shown = frame.head(limit) if limit >= 0 else frame
        try:
            import pandas as pd

            with pd.option_context("display.max_rows", max(len(shown), 1) + 1,
                                   "display.min_rows", max(len(shown), 1) + 1):
                html_part = shown._repr_html_() or shown.to_html()
                text_part = shown.to_string()
        except Exception:
            html_part, text_part = shown.to_html(), shown.to_string()
    else:
        rows = _rows_of(result)
        total = len(rows)
        shown_rows = rows[:limit] if limit >= 0 else rows
        html_part = _html_table(columns, shown_rows)
        text_part = _text_table(columns, shown_rows)
    hidden = total - min(total, limit) if limit >= 0 else 0
    if hidden > 0:
        note = (f"{total:,} rows, {hidden:,} not shown "
                f"(SQLFlowMagic.display_limit = {limit})")
    else:
        note = f"{total:,} row{'s' if total != 1 else ''}"
    return {
        "text/html": f"{html_part}<p style='color:#57606a;margin:2px 0'>"
        f"{html.escape(note)}</p>",
        "text/plain": f"{text_part}\n({note})",
    }


class _JobView:
    """Everything one cell shows for one job: status line, log blocks, tables, figures.

    All display calls happen on the kernel's main thread."""

    def __init__(self, magic: "SQLFlowMagic", job: Any, *, hold_last: bool,
                 live: bool):
        self.magic = magic
        self.job = job
        self.job_id = _job_id(job)
        self.hold_last = hold_last
        self.live = live
        self.started = time.monotonic()
        self.status = "PENDING"
        self.progress = ""
        self.statements = 0
        self.tables = 0
        self.figures = 0
        self.last_result: Any = None
        self.last_frame: Any = None
        self.held: Optional[Tuple[Any, Any]] = None
        # The current log block: lines since the last table/figure.
        self.log_id: Optional[str] = None
        self.log_lines: List[Tuple[str, str]] = []
        self.log_count = 0
        self.log_dirty = False
        self.total_logs = 0
        self.status_id = "sqlflow-status-" + uuid.uuid4().hex
        self._shown_status: Optional[str] = None
        self._last_status_update = 0.0
        self._last_log_update = 0.0
        self._last_poll = time.monotonic() - _STATUS_POLL + _TICK
        self._status_displayed = False
        if live:
            display(self._status_bundle(), raw=True, display_id=self.status_id)
            self._status_displayed = True
            self._shown_status = self._status_key()

    # -- status line --

    def _status_key(self) -> str:
        return f"{self.status}|{self.progress}|{self._elapsed_text()}"

    def _elapsed_text(self) -> str:
        running = self.status in ("PENDING", "RUNNING")
        return _fmt_seconds(time.monotonic() - self.started, running)

    def _status_bundle(self, note: str = "") -> Dict[str, str]:
        parts = [self._elapsed_text()]
        if self.statements:
            parts.append(f"{self.statements} statement{'s' if self.statements != 1 else ''}"
                         " done")
        detail = self.progress if self.status in ("PENDING", "RUNNING") else ""
        text = f"SQLFlow job {self.job_id}: {self.status}, " + ", ".join(parts)
        if detail:
            text += f" | {detail}"
        if note:
            text += f" | {note}"
        color = _STATUS_COLORS.get(self.status, "#57606a")
        h = (
            "<div class='sqlflow-status' style='font-family:monospace'>"
            f"<b style='color:{color}'>{html.escape(self.status)}</b>"
            f" &middot; {html.escape(', '.join(parts))}"
            f" &middot; job <code>{html.escape(self.job_id)}</code>"
        )
        if detail:
            h += f" &middot; <span>{html.escape(detail)}</span>"
        if note:
            h += f" &middot; <i>{html.escape(note)}</i>"
        h += "</div>"
        return {"text/plain": text, "text/html": h}

    def update_status(self, force: bool = False, note: str = "") -> None:
        key = self._status_key() + note
        now = time.monotonic()
        if key == self._shown_status and not force:
            return
        if not (self.live or force):
            return
        if not force and now - self._last_status_update < _TICK * 0.9:
            return
        if self._status_displayed:
            update_display(self._status_bundle(note), raw=True, display_id=self.status_id)
        else:
            display(self._status_bundle(note), raw=True, display_id=self.status_id)
            self._status_displayed = True
        self._shown_status = key
        self._last_status_update = now

    # -- log block --

    def _log_bundle(self) -> Dict[str, str]:
        n = self.magic.log_lines
        hidden = self.log_count - len(self.log_lines)
        text_lines = []
        html_lines = []
        if hidden > 0:
            note = (f"... {hidden:,} earlier log line{'s' if hidden != 1 else ''} not shown "
                    f"(SQLFlowMagic.log_lines = {n}; all lines: _sqlflow_job.logs())")
            text_lines.append(note)
            html_lines.append(f"<span style='color:#57606a'>{html.escape(note)}</span>")
        for kind, line in self.log_lines:
            if kind == "ERROR":
                text_lines.append(f"ERROR: {line}")
                html_lines.append(f"<span style='color:#cf222e'>{html.escape(line)}</span>")
            else:
                text_lines.append(line)
                html_lines.append(html.escape(line))
        return {
            "text/plain": "\n".join(text_lines),
            "text/html": "<pre class='sqlflow-log' style='margin:2px 0'>"
            + "\n".join(html_lines) + "</pre>",
        }

    def add_log(self, kind: str, line: str) -> None:
        self.total_logs += 1
        self.log_count += 1
        self.log_lines.append((kind, line))
        limit = max(self.magic.log_lines, 0)
        if len(self.log_lines) > limit:
            del self.log_lines[: len(self.log_lines) - limit]
        self.log_dirty = True
        if kind == "PROGRESS":
            self.progress = line

    def flush_logs(self, force: bool = False) -> None:
        if not self.log_dirty:
            return
        now = time.monotonic()
        if self.log_id is None:
            if not (self.live or force):
                return
            self.log_id = "sqlflow-log-" + uuid.uuid4().hex
            display(self._log_bundle(), raw=True, display_id=self.log_id)
        else:
            if not force and (not self.live or now - self._last_log_update < _TICK * 0.9):
                return
            update_display(self._log_bundle(), raw=True, display_id=self.log_id)
        self.log_dirty = False
        self._last_log_update = now

    def _close_log_block(self) -> None:
        """Outputs after a table or figure start a new log block below it."""
        self.flush_logs(force=True)
        self.log_id = None
        self.log_lines = []
        self.log_count = 0

    # -- tables and figures --

    def _show_table(self, result: Any, frame: Any) -> None:
        self._close_log_block()
        display(_table_bundle(result, frame, self.magic.display_limit), raw=True)

    def add_result(self, result: Any) -> None:
        self.tables += 1
        frame = None
        try:
            frame = _to_frame(result)
        except Exception as e:  # the table still shows, from its rows
            self.add_log("ERROR", f"cannot convert the result to a DataFrame: {e}")
        self.last_result, self.last_frame = result, frame
        if self.hold_last:
            if self.held is not None:
                self._show_table(*self.held)
            self.held = (result, frame)
        else:
            self._show_table(result, frame)

    def release_held(self) -> None:
        if self.held is not None:
            self._show_table(*self.held)
            self.held = None

    def add_figure(self, fig: Any) -> None:
        self.figures += 1
        self.release_held()
        self._close_log_block()
        title = str(getattr(fig, "title", "") or "figure")
        mime = str(getattr(fig, "mime_type", "") or "")
        data = getattr(fig, "data", b"") or b""
        if isinstance(data, str):
            data = data.encode()
        if mime == "image/png":
            bundle = {"image/png": base64.b64encode(data).decode("ascii"),
                      "text/plain": f"<Figure: {title}>"}
        elif mime.startswith("image/svg"):
            bundle = {"image/svg+xml": data.decode("utf-8", "replace"),
                      "text/plain": f"<Figure: {title}>"}
        elif mime.startswith("image/"):
            bundle = {mime: base64.b64encode(data).decode("ascii"),
                      "text/plain": f"<Figure: {title}>"}
        else:
            bundle = {"text/plain": f"<Figure: {title} ({mime}, {len(data)} bytes)>"}
        display(bundle, raw=True, metadata={"sqlflow": {"title": title}})

    def add_end(self, ev: Any) -> None:
        idx = getattr(ev, "statement_index", None)
        self.statements = (int(idx) + 1) if isinstance(idx, int) else self.statements + 1

    # -- the whole thing --

    def handle(self, ev: Any) -> None:
        if self.status == "PENDING":
            self.status = "RUNNING"
        kind = _event_kind(ev)
        if kind == "result":
            self.add_result(ev)
        elif kind == "figure":
            self.add_figure(ev)
        elif kind == "log":
            self.add_log(_log_kind(ev), _log_text(ev))
        elif kind == "end":
            self.add_end(ev)

    def poll_status(self) -> None:
        """Ask for the job's status now and then: a long statement sends nothing."""
        now = time.monotonic()
        if now - self._last_poll < _STATUS_POLL:
            return
        self._last_poll = now
        try:
            name = _status_name(self.job.status())
        except Exception:
            return
        if name in ("PENDING", "RUNNING"):
            self.status = name

    def tick(self) -> None:
        self.poll_status()
        self.flush_logs()
        self.update_status()

    def finish(self, status: str, note: str = "") -> None:
        self.status = status
        self.flush_logs(force=True)
        self.update_status(force=True, note=note)


def _failure_lines(job_id: str, error: Any, message: str) -> List[str]:
    """A failed job in a few lines: which statement, what it was, the database's error."""
    index = getattr(error, "statement_index", None)
    statement = getattr(error, "statement", None)
    detail = getattr(error, "error", None) or message
    head = f"\x1b[0;31mJobFailed\x1b[0m: job {job_id} failed"
    if isinstance(index, int):
        head += f" at statement {index + 1}"
    lines = [head]
    if isinstance(statement, str) and statement.strip():
        sql = statement.strip().splitlines()
        if len(sql) > _MAX_STATEMENT_LINES:
            sql = sql[:_MAX_STATEMENT_LINES] + ["..."]
        lines.append("  statement: " + sql[0])
        lines += ["             " + s for s in sql[1:]]
        lines.append("  error:     " + "\n             ".join(str(detail).splitlines()))
    else:
        lines += ["  " + m for m in str(detail or "the job failed").splitlines()]
    return lines


# --------------------------------------------------------------------------------------
# Argument parsing.

_VAR = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*<<")
_VALUED = {"--timeout", "--datasource"}
_FLAGS = {"--detach", "--help"}


def _parse(line: str) -> Tuple[Optional[str], Dict[str, Any], str]:
    """Leading `NAME <<` and `--options` of a magic line, and the rest (SQL/command)."""
    var: Optional[str] = None
    opts: Dict[str, Any] = {}
    rest = line
    while True:
        m = _VAR.match(rest)
        if m and var is None:
            var = m.group(1)
            rest = rest[m.end():]
            continue
        s = rest.lstrip()
        if s.startswith("--"):
            m = re.match(r"(--[A-Za-z][\w-]*)(?:=(\S+))?", s)
            if not m:
                break
            name, value = m.group(1), m.group(2)
            s = s[m.end():]
            if name in _VALUED:
                if value is None:
                    parts = s.lstrip().split(None, 1)
                    if not parts:
                        raise MagicError(f"{name} needs a value\n{_USAGE}")
                    value = parts[0]
                    s = parts[1] if len(parts) > 1 else ""
                opts[name[2:]] = value
            elif name in _FLAGS:
                opts[name[2:]] = True
            else:
                raise MagicError(f"unknown option {name}\n{_USAGE}")
            rest = s
            continue
        break
    return var, opts, rest.strip()


# --------------------------------------------------------------------------------------
# The magic.


@magics_class
class SQLFlowMagic(Magics):
    """Run SQLFlow programs from IPython and Jupyter: ``%%sqlflow`` and ``%sqlflow``."""

    server = Unicode(
        "", help="SQLFlow server address (default: $SQLFLOW_SERVER, else the client's "
        "default http://127.0.0.1:50051)."
    ).tag(config=True)
    datasource = Unicode(
        "", help="Datasource of the jobs (sqlite://..., mysql://..., postgres://...; "
        "default: $SQLFLOW_DATASOURCE, else the server's)."
    ).tag(config=True)
    token = Unicode("", help="Access token (default: $SQLFLOW_TOKEN).").tag(config=True)
    ca_cert = Unicode(
        "", help="CA certificate (PEM file) to trust for an https:// server."
    ).tag(config=True)
    display_limit = Int(
        10, help="Rows shown of each result table (the whole table is kept: `<<`, "
        "the line magic's return value, _sqlflow_job.results())."
    ).tag(config=True)
    log_lines = Int(
        20, help="Log lines shown per block while a job runs; earlier ones are counted "
        "(all of them: _sqlflow_job.logs())."
    ).tag(config=True)
    timeout = Int(
        0, help="Abandonment timeout in seconds: the server cancels a followed job "
        "when nobody fetches it that long (0: the server's default)."
    ).tag(config=True)

    def __init__(self, shell=None, **kwargs):
        super().__init__(shell=shell, **kwargs)
        self._client = None
        self.last_job = None

    @observe("server", "datasource", "token", "ca_cert")
    def _reset_client(self, change):
        self._client = None

    # -- the client --

    @property
    def client(self):
        """The `sqlflow.Client` the magic uses, built from its options."""
        if self._client is None:
            from sqlflow.client import Client

            self._client = Client(
                server=self.server or None,
                token=self.token or None,
                datasource=self.datasource or None,
                ca_cert=self.ca_cert or None,
            )
        return self._client

    def _live(self) -> bool:
        # In a kernel, display ids update outputs in place; a terminal would print
        # every update, so there only the final state is shown.
        return self.shell is not None and getattr(self.shell, "kernel", None) is not None

    def _remember(self, job: Any) -> None:
        self.last_job = job
        if self.shell is not None:
            self.shell.user_ns["_sqlflow_job"] = job

    # -- entry point --

    @line_cell_magic
    def sqlflow(self, line: str, cell: Optional[str] = None):
        """Run a SQLFlow program; see `sqlflow.magic` for the forms."""
        try:
            return self._sqlflow(line, cell)
        except Exception as e:
            from sqlflow import errors as _errors

            if isinstance(e, getattr(_errors, "SQLFlowError", ())) and not hasattr(
                e, "_render_traceback_"
            ):
                raise _short_traceback(e, [f"\x1b[0;31m{type(e).__name__}\x1b[0m: {e}"])
            raise

    def _sqlflow(self, line: str, cell: Optional[str]):
        var, opts, rest = _parse(line)
        if opts.get("help"):
            print(_USAGE)
            return None
        body = (cell or "").strip()
        line_mode = cell is None
        words = rest.split()
        if not body and words:
            cmd = words[0].lower()
            if cmd == "jobs" and (len(words) == 1 or (len(words) == 2 and (
                    words[1].isdigit() or words[1].lower() == "all"))):
                limit = None if len(words) == 1 else words[1]
                return self._jobs(var, _JOBS_SHOWN if limit is None else
                                  (None if limit.lower() == "all" else int(limit)))
            if cmd == "attach" and len(words) == 2 and words[1].lower() != "database":
                job = self.client.attach(words[1].strip("'\""))
                return self._follow(job, var, line_mode)
            if cmd == "cancel" and len(words) == 2:
                return self._cancel(words[1].strip("'\""))
        sql = "\n".join(p for p in (rest, body) if p)
        if not sql:
            raise MagicError(f"no program to run\n{_USAGE}")
        timeout = opts.get("timeout")
        if timeout is not None:
            try:
                timeout = int(timeout)
            except ValueError:
                raise MagicError(f"--timeout takes whole seconds, not {timeout!r}") from None
        elif self.timeout > 0:
            timeout = self.timeout
        run_args: Dict[str, Any] = {"timeout": timeout}
        if opts.get("datasource"):
            run_args["datasource"] = opts["datasource"]
        if opts.get("detach"):
            job = self.client.run(sql, detach=True, **run_args)
            self._remember(job)
            jid = _job_id(job)
            display({
                "text/plain": f"SQLFlow job {jid} submitted (detached); follow it with "
                f"%sqlflow attach {jid}",
                "text/html": f"<div style='font-family:monospace'>SQLFlow job "
                f"<code>{html.escape(jid)}</code> submitted (detached); follow it with "
                f"<code>%sqlflow attach {html.escape(jid)}</code></div>",
            }, raw=True)
            if var:
                self.shell.user_ns[var] = job
            return None
        job = self.client.run(sql, **run_args)
        return self._follow(job, var, line_mode)

    # -- following a job --

    def _follow(self, job: Any, var: Optional[str], line_mode: bool):
        self._remember(job)
        # The line magic returns its last table (displayed by IPython as the cell's
        # result), so that one table is not also shown live.
        view = _JobView(self, job, hold_last=line_mode and var is None, live=self._live())
        events: "queue.Queue[Tuple[str, Any]]" = queue.Queue()

        def pump():
            try:
                for ev in job:
                    events.put(("event", ev))
                events.put(("done", None))
            except BaseException as e:  # handed to the main thread
                events.put(("error", e))

        threading.Thread(target=pump, name=f"sqlflow-{view.job_id}", daemon=True).start()
        error: Optional[BaseException] = None
        try:
            while True:
                try:
                    what, payload = events.get(timeout=_TICK)
                except queue.Empty:
                    view.tick()
                    continue
                if what == "event":
                    view.handle(payload)
                    view.tick()
                    continue
                if what == "error":
                    error = payload
                break
        except KeyboardInterrupt:
            return self._interrupted(job, view, events)

        status, message = self._final_status(job, error)
        if status == "SUCCEEDED" or (error is None and status in ("UNKNOWN",)):
            view.finish(status)
            if var:
                view.release_held()
                self.shell.user_ns[var] = (
                    view.last_frame if view.last_frame is not None else view.last_result
                )
                return None
            if line_mode and view.held is not None:
                result, frame = view.held
                return frame if frame is not None else result
            return None
        view.release_held()
        if status == "CANCELLED":
            view.finish("CANCELLED", note="the job was cancelled")
            exc = error if error is not None else MagicError(
                f"job {view.job_id} was cancelled")
            raise _short_traceback(exc, [
                f"\x1b[0;33mJobCancelled\x1b[0m: job {view.job_id} was cancelled"
                + (f": {message}" if message else "")
            ])
        if status == "FAILED":
            view.finish("FAILED")
            exc = error if error is not None else MagicError(
                f"job {view.job_id} failed: {message}")
            raise _short_traceback(exc, _failure_lines(view.job_id, error, message))
        # Connection trouble and other client errors: the status line says where we
        # stopped, the error says why.
        view.finish(view.status if view.status not in ("PENDING", "RUNNING")
                    else "UNKNOWN", note="stopped following the job")
        if error is not None:
            raise error
        raise MagicError(f"job {view.job_id} ended {status}: {message}")

    def _final_status(self, job: Any, error: Optional[BaseException]) -> Tuple[str, str]:
        """The job's final status name and message, from the client's error or the job."""
        if error is not None:
            name = type(error).__name__
            message = str(_attr(error, "message", default="") or "") or str(error)
            if "Cancel" in name:
                return "CANCELLED", message
            if name == "JobFailed" or "Failed" in name:
                return "FAILED", message
            return "ERROR", message
        try:
            st = job.status()
        except Exception as e:
            return "ERROR", str(e)
        return _status_name(st), _status_message(st)

    def _interrupted(self, job: Any, view: _JobView, events: "queue.Queue"):
        """Ctrl+C / interrupt kernel: cancel the job, wait for it to stop, say so."""
        view.update_status(force=True, note="interrupted: cancelling the job")
        status = "UNKNOWN"
        try:
            st = job.cancel()
            if st is not None:
                status = _status_name(st)
        except KeyboardInterrupt:
            pass
        except Exception as e:
            view.add_log("ERROR", f"cannot cancel job {view.job_id}: {e}")
        # The job's remaining output (and its end) still arrives; show it, briefly.
        deadline = time.monotonic() + _CANCEL_DRAIN_SECONDS
        try:
            while time.monotonic() < deadline:
                try:
                    what, payload = events.get(timeout=_TICK)
                except queue.Empty:
                    view.tick()
                    continue
                if what == "event":
                    view.handle(payload)
                    continue
                break
            st = job.status()
            status = _status_name(st)
        except KeyboardInterrupt:
            pass
        except Exception:
            pass
        if status in ("PENDING", "RUNNING", "UNKNOWN"):
            status = "CANCELLED" if status != "UNKNOWN" else status
        view.release_held()
        view.finish(status, note="interrupted: the job was cancelled")
        raise JobInterrupted(view.job_id, status)

    # -- jobs and cancel --

    def _jobs(self, var: Optional[str], limit: Optional[int]):
        try:
            infos = list(self.client.jobs(limit=limit))
        except TypeError:  # a client without `limit`
            infos = list(self.client.jobs())[:limit]
        rows = []
        for j in infos:
            rows.append({
                "job_id": str(_attr(j, "id", "job_id", default="")),
                "status": _status_name(_attr(j, "status", default=None)),
                "submitted": _attr(j, "submitted_at", "submitted", "submitted_at_ms"),
                "finished": _attr(j, "finished_at", "finished", "finished_at_ms"),
                "summary": _attr(j, "summary", default=""),
            })
        pd = _pandas()
        out: Any
        if pd is not None:
            out = pd.DataFrame(rows, columns=["job_id", "status", "submitted", "finished",
                                              "summary"])
        else:
            out = rows
        if var:
            self.shell.user_ns[var] = out
            return None
        return out

    def _cancel(self, job_id: str):
        st = self.client.attach(job_id).cancel()
        name = _status_name(st) if st is not None else "UNKNOWN"
        if name == "CANCELLED":
            print(f"SQLFlow job {job_id}: cancelled")
        else:
            print(f"SQLFlow job {job_id}: cancel requested (status {name})")
        return None


def load_ipython_extension(ip) -> None:
    """`%load_ext sqlflow`: register `%sqlflow` / `%%sqlflow` and `%config SQLFlowMagic`."""
    magic = SQLFlowMagic(shell=ip)
    ip.register_magics(magic)
    # Importing pandas takes a second or so: pay it here, not in the first job's time.
    _pandas()
    # `%config SQLFlowMagic` lists (and `%config SQLFlowMagic.x = ...` sets) the options
    # of every configurable in this list.
    ip.configurables = [c for c in ip.configurables if type(c).__name__ != "SQLFlowMagic"]
    ip.configurables.append(magic)


def unload_ipython_extension(ip) -> None:
    """`%unload_ext sqlflow`: remove the magics and their options."""
    ip.configurables = [c for c in ip.configurables if type(c).__name__ != "SQLFlowMagic"]
    manager = ip.magics_manager
    manager.registry.pop("SQLFlowMagic", None)
    for kind in ("line", "cell"):
        manager.magics[kind].pop("sqlflow", None)
