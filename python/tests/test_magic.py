"""The `%sqlflow` / `%%sqlflow` magic inside a real IPython shell, against a real server.

The shell's display publisher is replaced by one that keeps outputs the way a notebook
does (an update with a display id replaces that output), so the tests see what a cell
would show. test_notebook.py runs the same magic in a real kernel through nbclient.
"""

from __future__ import annotations

import threading
import time
import _thread

import pytest

pytest.importorskip("IPython", reason="IPython is not installed (pip install ipython)")

from IPython.core.displaypub import DisplayPublisher  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from sqlflow import magic as sqlflow_magic  # noqa: E402


class NotebookOutputs(DisplayPublisher):
    """Records display calls as a notebook would keep them."""

    def __init__(self):
        super().__init__()
        self.outputs = []  # [{"data":..., "display_id":..., "time":...}]
        self.calls = 0
        self.lock = threading.Lock()

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False,
                **kwargs):
        did = (transient or {}).get("display_id")
        with self.lock:
            self.calls += 1
            if update:
                for out in self.outputs:
                    if out["display_id"] == did:
                        out["data"] = data
                        out["updated"] = time.monotonic()
                return
            self.outputs.append({"data": data, "display_id": did, "time": time.monotonic(),
                                 "updated": time.monotonic()})

    def clear_output(self, wait=False):
        self.outputs = []

    def texts(self):
        return [o["data"].get("text/plain", "") for o in self.outputs]

    def status_lines(self):
        return [o for o in self.outputs
                if "sqlflow-status" in o["data"].get("text/html", "")]

    def tables(self):
        return [o for o in self.outputs if "<table" in o["data"].get("text/html", "")]


@pytest.fixture
def ip(server, monkeypatch):
    for k in ("SQLFLOW_SERVER", "SQLFLOW_TOKEN", "SQLFLOW_DATASOURCE", "SQLFLOW_CA_CERT"):
        monkeypatch.delenv(k, raising=False)
    shell = InteractiveShell.instance()
    pub = NotebookOutputs()
    monkeypatch.setattr(shell, "display_pub", pub)
    shell.run_line_magic("load_ext", "sqlflow")
    shell.run_line_magic("config", f"SQLFlowMagic.server = {server.address!r}")
    shell.run_line_magic("config", "SQLFlowMagic.display_limit = 10")
    shell.run_line_magic("config", "SQLFlowMagic.log_lines = 20")
    magic = shell.magics_manager.registry["SQLFlowMagic"]
    # Behave as in a kernel: live updates of the status line and the log block.
    monkeypatch.setattr(magic, "_live", lambda: True)
    shell.pub = pub
    shell.magic_obj = magic
    yield shell
    shell.run_line_magic("unload_ext", "sqlflow")
    shell.user_ns.pop("_sqlflow_job", None)


def run_cell(ip, line, body):
    return ip.run_cell_magic("sqlflow", line, body)


# --------------------------------------------------------------------------------------
# Arguments


def test_parse_forms():
    p = sqlflow_magic._parse
    assert p("") == (None, {}, "")
    assert p("result <<") == ("result", {}, "")
    assert p("result<< SELECT 1") == ("result", {}, "SELECT 1")
    assert p("--detach") == (None, {"detach": True}, "")
    assert p("--timeout 30 r << SELECT 1") == ("r", {"timeout": "30"}, "SELECT 1")
    assert p("--timeout=5 --detach") == (None, {"timeout": "5", "detach": True}, "")
    assert p("attach abc") == (None, {}, "attach abc")
    # A comparison in SQL is not a variable.
    assert p("SELECT a << 2 FROM t") == (None, {}, "SELECT a << 2 FROM t")
    with pytest.raises(sqlflow_magic.MagicError, match="unknown option --nope"):
        p("--nope")
    with pytest.raises(sqlflow_magic.MagicError, match="needs a value"):
        p("--timeout")


def test_config_lists_options(ip, capsys):
    ip.run_line_magic("config", "SQLFlowMagic")
    out = capsys.readouterr().out
    for name in ("server", "datasource", "token", "ca_cert", "display_limit", "log_lines",
                 "timeout"):
        assert f"SQLFlowMagic.{name}" in out, out
    ip.run_line_magic("config", "SQLFlowMagic.display_limit = 3")
    assert ip.magic_obj.display_limit == 3


# --------------------------------------------------------------------------------------
# Tables


def test_cell_shows_tables_and_status(ip):
    out = run_cell(ip, "", "SELECT 1 AS a, 'x' AS b;\nSELECT 2 AS c;")
    assert out is None
    pub = ip.pub
    status = pub.status_lines()
    assert len(status) == 1, pub.texts()
    text = status[0]["data"]["text/plain"]
    job = ip.user_ns["_sqlflow_job"]
    assert f"SQLFlow job {job.id}: SUCCEEDED" in text
    assert "2 statements done" in text
    tables = pub.tables()
    assert len(tables) == 2
    assert ">x<" in tables[0]["data"]["text/html"]
    assert "1 row" in tables[0]["data"]["text/plain"]


def test_display_limit_says_how_many_rows_were_not_shown(ip):
    ip.run_line_magic("config", "SQLFlowMagic.display_limit = 4")
    sql = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25) "
           "SELECT i FROM n;")
    run_cell(ip, "r <<", sql)
    (table,) = ip.pub.tables()
    html = table["data"]["text/html"]
    assert html.count("<tr") == 1 + 4  # header + 4 rows
    assert "25 rows, 21 not shown (SQLFlowMagic.display_limit = 4)" in html
    # The variable holds the whole table.
    assert len(ip.user_ns["r"]) == 25


def test_table_is_shown_when_its_statement_ends(ip):
    run_cell(ip, "", "SELECT 1 AS first;\nSELECT sleep(2) AS slept;")
    first = ip.pub.tables()[0]
    status = ip.pub.status_lines()[0]
    assert "first" in first["data"]["text/html"]
    # Shown about 2 s before the job ended, not at the end.
    assert status["updated"] - first["time"] > 1.0


def test_line_magic_returns_last_table(ip):
    pd = pytest.importorskip("pandas")
    df = ip.run_line_magic("sqlflow", "SELECT 1 AS a; SELECT 2 AS b, 3 AS c")
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["b", "c"] and df.iloc[0].tolist() == [2, 3]
    # The returned table is IPython's to show (Out[n]); only the first is shown live.
    assert len(ip.pub.tables()) == 1
    # A trailing ';' (usual in SQL) does not hide the result.
    res = ip.run_cell("%sqlflow SELECT 7 AS seven;", store_history=True)
    assert res.success
    assert isinstance(res.result, pd.DataFrame) and res.result.iloc[0, 0] == 7


def test_store_in_variable(ip):
    pd = pytest.importorskip("pandas")
    run_cell(ip, "result <<", "SELECT 1 AS a;\nSELECT 2 AS b UNION ALL SELECT 3;")
    assert isinstance(ip.user_ns["result"], pd.DataFrame)
    assert ip.user_ns["result"]["b"].tolist() == [2, 3]
    # With `<<` every table is shown.
    assert len(ip.pub.tables()) == 2
    assert ip.run_line_magic("sqlflow", "x << SELECT 5 AS five") is None
    assert ip.user_ns["x"].iloc[0, 0] == 5


def test_without_pandas_tables_are_still_shown(ip, monkeypatch):
    monkeypatch.setattr(sqlflow_magic, "_pandas", lambda: None)
    run_cell(ip, "res <<", "SELECT 1 AS a, NULL AS b UNION ALL SELECT 2, 'y';")
    (table,) = ip.pub.tables()
    assert "<td>NULL</td>" in table["data"]["text/html"]
    res = ip.user_ns["res"]
    assert list(res.columns) == ["a", "b"]
    assert [list(r) for r in res.rows] == [[1, None], [2, "y"]]


# --------------------------------------------------------------------------------------
# Logs and progress


def test_ten_thousand_log_lines_keep_the_output_bounded(ip):
    n = 10_000
    sql = ("DROP TABLE IF EXISTS many_logs_shell;\nCREATE TABLE many_logs_shell(a INT);\n"
           "BEGIN;\n"
           + "INSERT INTO many_logs_shell VALUES (1);\n" * n
           + "COMMIT;\nDROP TABLE many_logs_shell;")
    run_cell(ip, "", sql)
    pub = ip.pub
    # One status line and one log block, whatever the number of lines.
    assert len(pub.outputs) == 2, [t[:80] for t in pub.texts()]
    log = pub.outputs[1]["data"]["text/plain"]
    lines = log.splitlines()
    assert len(lines) == 21
    hidden = n + 5 - 20
    assert lines[0].startswith(f"... {hidden:,} earlier log lines not shown"), lines[0]
    assert lines[-1] == "OK"
    assert sum(len(t) for t in pub.texts()) < 4000
    # Display updates are throttled too, not one per line.
    assert pub.calls < 200
    # Every line is still available from the job.
    logs = ip.user_ns["_sqlflow_job"].logs()
    assert len(logs) == n + 5


def test_failed_job_shows_statement_and_error(ip):
    with pytest.raises(Exception) as info:
        run_cell(ip, "", "SELECT 1 AS ok;\nSELECT * FROM no_such_table;")
    err = info.value
    assert hasattr(err, "_render_traceback_")
    lines = err._render_traceback_()
    text = "\n".join(lines)
    assert len(lines) <= 6, text
    assert "JobFailed" in text
    assert "no_such_table" in text
    assert "no such table" in text
    status = ip.pub.status_lines()[0]["data"]["text/plain"]
    assert ": FAILED" in status
    # The table of the statement that worked is shown.
    assert len(ip.pub.tables()) == 1


def test_failed_job_in_a_shell_cell_prints_no_long_traceback(ip, capsys):
    res = ip.run_cell("%%sqlflow\nSELECT * FROM no_such_table;\n")
    assert not res.success
    out = capsys.readouterr()
    text = out.out + out.err
    assert "no such table" in text
    assert "Traceback" not in text and "site-packages" not in text, text


# --------------------------------------------------------------------------------------
# Ctrl+C, detach, attach, jobs


def test_ctrl_c_cancels_the_job(ip):
    def interrupt():
        # Wait until the job runs, then do what Ctrl+C does.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            st = ip.pub.status_lines()
            if st and ": RUNNING" in st[0]["data"]["text/plain"]:
                break
            time.sleep(0.1)
        _thread.interrupt_main()

    t = threading.Thread(target=interrupt, daemon=True)
    start = time.monotonic()
    t.start()
    with pytest.raises(KeyboardInterrupt) as info:
        run_cell(ip, "", "SELECT sleep(30);")
    assert time.monotonic() - start < 20
    job = ip.user_ns["_sqlflow_job"]
    assert isinstance(info.value, sqlflow_magic.JobInterrupted)
    assert job.id in str(info.value)
    status = ip.pub.status_lines()[0]["data"]["text/plain"]
    assert f"SQLFlow job {job.id}: CANCELLED" in status, status
    assert "interrupted" in status
    assert sqlflow_magic._status_name(job.status()) == "CANCELLED"


def test_detach_then_attach_then_jobs(ip):
    pd = pytest.importorskip("pandas")
    start = time.monotonic()
    assert run_cell(ip, "j << --detach", "SELECT sleep(2);\nSELECT 42 AS answer;") is None
    assert time.monotonic() - start < 1.5
    job = ip.user_ns["j"]
    assert ip.user_ns["_sqlflow_job"] is job
    (note,) = ip.pub.outputs
    assert f"%sqlflow attach {job.id}" in note["data"]["text/plain"]

    df = ip.run_line_magic("sqlflow", f"attach {job.id}")
    assert df.iloc[0]["answer"] == 42
    status = ip.pub.status_lines()[-1]["data"]["text/plain"]
    assert f"SQLFlow job {job.id}: SUCCEEDED" in status

    jobs = ip.run_line_magic("sqlflow", "jobs")
    assert isinstance(jobs, pd.DataFrame)
    assert job.id in jobs["job_id"].tolist()
    assert jobs.set_index("job_id").loc[job.id, "status"] == "SUCCEEDED"


def test_cancel_command(ip, capsys):
    run_cell(ip, "j << --detach", "SELECT sleep(30);")
    job = ip.user_ns["j"]
    ip.run_line_magic("sqlflow", f"cancel {job.id}")
    assert f"SQLFlow job {job.id}: cancel" in capsys.readouterr().out
    deadline = time.monotonic() + 15
    while sqlflow_magic._status_name(job.status()) != "CANCELLED":
        assert time.monotonic() < deadline, job.status()
        time.sleep(0.2)


def test_usage_errors(ip):
    with pytest.raises(sqlflow_magic.MagicError, match="no program to run"):
        ip.run_line_magic("sqlflow", "")
    with pytest.raises(sqlflow_magic.MagicError, match="--timeout takes whole seconds"):
        run_cell(ip, "--timeout soon", "SELECT 1")


def test_datasource_option(ip, server):
    run_cell(ip, "--datasource sqlite://magic_other.db",
             "DROP TABLE IF EXISTS only_there;\nCREATE TABLE only_there(a INT);\n"
             "INSERT INTO only_there VALUES (7);")
    df = ip.run_line_magic("sqlflow", "--datasource sqlite://magic_other.db "
                           "SELECT a FROM only_there")
    assert df.iloc[0, 0] == 7
    with pytest.raises(Exception, match="only_there"):
        ip.run_line_magic("sqlflow", "SELECT a FROM only_there")


def test_attach_to_an_unknown_job_is_a_short_error(ip):
    with pytest.raises(Exception) as info:
        ip.run_line_magic("sqlflow", "attach no-such-job")
    err = info.value
    assert type(err).__name__ == "NotFound"
    (line,) = err._render_traceback_()
    assert "no-such-job" in line


def test_svg_and_png_figures_are_shown_inline(ip):
    from sqlflow.client import Figure

    class FakeJob:
        id = "fake"

        def status(self):
            return "RUNNING"

    view = sqlflow_magic._JobView(ip.magic_obj, FakeJob(), hold_last=False, live=True)
    view.handle(Figure("loss", "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>"))
    view.handle(Figure("roc", "image/png", b"\x89PNG\r\n\x1a\n"))
    svg, png = [o["data"] for o in ip.pub.outputs[1:]]
    assert svg["image/svg+xml"].startswith("<svg") and svg["text/plain"] == "<Figure: loss>"
    assert png["image/png"] == "iVBORw0KGgo=" and png["text/plain"] == "<Figure: roc>"


def test_server_restart_while_a_cell_follows_its_job(ip, make_server):
    srv = make_server()
    ip.run_line_magic("config", f"SQLFlowMagic.server = {srv.address!r}")

    def restart():
        time.sleep(1.0)
        srv.kill()
        time.sleep(1.0)
        srv.restart()

    t = threading.Thread(target=restart, daemon=True)
    t.start()
    df = ip.run_line_magic("sqlflow", "SELECT 1 AS before; SELECT sleep(4); "
                           "SELECT 2 AS after")
    t.join()
    assert df.iloc[0]["after"] == 2
    # Complete and nothing repeated: one status line, the two earlier tables once each.
    (status,) = ip.pub.status_lines()
    assert ": SUCCEEDED" in status["data"]["text/plain"]
    assert "3 statements done" in status["data"]["text/plain"]
    assert len(ip.pub.tables()) == 2


def test_status_line_shows_the_latest_progress(ip):
    from sqlflow.client import Log, LogKind

    class FakeJob:
        id = "fake"

        def status(self):
            return "RUNNING"

    view = sqlflow_magic._JobView(ip.magic_obj, FakeJob(), hold_last=False, live=True)
    view.handle(Log("training DNNClassifier on 110 rows, 4 features", LogKind.PROGRESS))
    view.handle(Log("epoch 3/10: loss 0.41", LogKind.PROGRESS))
    view.update_status(force=True)
    (status,) = ip.pub.status_lines()
    text = status["data"]["text/plain"]
    assert text.startswith("SQLFlow job fake: RUNNING, 0 s"), text
    assert text.endswith("| epoch 3/10: loss 0.41"), text
    assert "epoch 3/10: loss 0.41" in status["data"]["text/html"]
    view.finish("SUCCEEDED")
    (status,) = ip.pub.status_lines()
    assert "epoch" not in status["data"]["text/plain"]
