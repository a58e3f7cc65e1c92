"""The client API against the real server and local runner."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from decimal import Decimal

import grpc
import pytest

import sqlflow
from sqlflow import (
    Client,
    Figure,
    JobCancelled,
    JobFailed,
    Log,
    LogKind,
    NotFound,
    Result,
    StatementEnd,
    StatusCode,
    Unauthenticated,
    Unavailable,
)
from sqlflow import errors
from sqlflow._proto import sqlflow_pb2 as pb


@pytest.fixture(scope="module")
def server(module_server):
    """This module's own server: its many jobs stay out of the session server's list."""
    return module_server


def table(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def kinds(events):
    return "".join({Result: "R", Log: "L", Figure: "F", StatementEnd: "E"}[type(e)]
                   for e in events)


# --------------------------------------------------------------------------------------
# Running and following


def test_run_iterate_wait_results(client):
    t = table()
    job = client.run(f"CREATE TABLE {t}(a INT, b TEXT); "
                     f"INSERT INTO {t} VALUES (1, 'x'), (2, NULL); "
                     f"SELECT * FROM {t} ORDER BY a; SELECT COUNT(*) AS n FROM {t}")
    assert isinstance(job.id, str) and job.id
    events = list(job)
    # CREATE: "OK" and end; INSERT: "2 rows affected" and end; two SELECTs: table, end.
    assert kinds(events) == "LELERERE"
    ends = [e for e in events if isinstance(e, StatementEnd)]
    assert [e.statement_index for e in ends] == [0, 1, 2, 3]
    assert ends[2].sql == f"SELECT * FROM {t} ORDER BY a"
    assert all(e.spent_seconds >= 0 for e in ends)
    log = events[2]
    assert log.kind == LogKind.LOG and "2 rows affected" in log.text
    assert log.statement_index == 1
    status = job.wait()
    assert status.code == StatusCode.SUCCEEDED and status.name == "SUCCEEDED"
    assert job.status().code == StatusCode.SUCCEEDED
    res = job.results()
    assert len(res) == 2
    assert res[0].columns == ["a", "b"]
    assert res[0].column_types == ["INT", "TEXT"]
    assert res[0].rows == [(1, "x"), (2, None)]
    assert res[0].statement_index == 2 and res[0].sql.startswith("SELECT * FROM")
    assert res[1].rows == [(2,)] and len(res[1]) == 1
    assert res[0].column("b") == ["x", None]
    assert [ln.text for ln in job.logs()] == ["OK", "2 rows affected"]
    assert job.figures() == []
    # A second iteration replays the same events.
    assert kinds(list(job)) == "LELERERE"


def test_result_types_round_trip(client):
    t = table()
    job = client.run(
        f"CREATE TABLE {t}(i INTEGER, r REAL, s TEXT, d DECIMAL(10,2), dd DATE, "
        f"ts TIMESTAMP, b BLOB, ok BOOLEAN, tm TIME);"
        f"INSERT INTO {t} VALUES (-9223372036854775808, 1.5, 'héllo ☃', '12.34', "
        f"'2024-01-31', '2024-01-31 13:45:00.123456', x'00ff10', 1, '13:45:00'),"
        f"(9223372036854775807, -0.0, '', '-0.01', '1999-12-31', '2000-01-01 00:00:00', "
        f"x'', 0, '23:59:59'),"
        f"(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);"
        f"SELECT * FROM {t} ORDER BY i IS NULL, i")
    (res,) = job.results()
    assert res.columns == ["i", "r", "s", "d", "dd", "ts", "b", "ok", "tm"]
    r0, r1, r2 = res.rows
    assert r0 == (-9223372036854775808, 1.5, "héllo ☃", Decimal("12.34"),
                  dt.date(2024, 1, 31), dt.datetime(2024, 1, 31, 13, 45, 0, 123456),
                  b"\x00\xff\x10", True, dt.time(13, 45))
    assert type(r0[0]) is int and type(r0[1]) is float and type(r0[7]) is bool
    assert r1[0] == 9223372036854775807 and r1[2] == "" and r1[3] == Decimal("-0.01")
    assert r1[6] == b"" and r1[7] is False and r1[8] == dt.time(23, 59, 59)
    assert r2 == (None,) * 9


def test_mixed_and_null_columns(client):
    (res,) = client.run("SELECT 1 AS v, NULL AS n UNION ALL SELECT 'a', NULL "
                        "UNION ALL SELECT NULL, NULL UNION ALL SELECT 2.5, NULL").results()
    assert res.rows == [(1, None), ("a", None), (None, None), (2.5, None)]
    assert res._kinds == ["mixed", "null"]


def test_empty_result_and_wide_row(client):
    (res,) = client.run("SELECT 1 AS a WHERE 1 = 0").results()
    assert res.columns == ["a"] and res.rows == [] and len(res) == 0
    cols = ", ".join(f"{i} AS c{i}" for i in range(300))
    (res,) = client.run(f"SELECT {cols}").results()
    assert res.rows == [tuple(range(300))]


def test_to_pandas_and_arrow(client):
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    t = table()
    (res,) = client.run(
        f"CREATE TABLE {t}(a INTEGER, b REAL, c TEXT, d INTEGER);"
        f"INSERT INTO {t} VALUES (1, 0.5, 'x', NULL), (2, NULL, NULL, 4);"
        f"SELECT a, b, c, d, a AS a FROM {t} ORDER BY a").results()
    df = res.to_pandas()
    assert list(df.columns) == ["a", "b", "c", "d", "a"]
    assert str(df.dtypes.iloc[0]) == "int64" and str(df.dtypes.iloc[1]) == "float64"
    assert df.iloc[0, 2] == "x" and pd.isna(df.iloc[1, 2]) and pd.isna(df.iloc[0, 3])
    assert df.iloc[1, 3] == 4
    tab = res.to_arrow()
    assert isinstance(tab, pa.Table) and tab.num_rows == 2
    assert tab.schema.field(0).type == pa.int64()
    assert tab.schema.field(1).type == pa.float64()
    assert tab.schema.field(2).type == pa.string()
    assert tab.column(3).to_pylist() == [None, 4]
    # A mixed column falls back to text in Arrow.
    (mixed,) = client.run("SELECT 1 AS v UNION ALL SELECT 'a'").results()
    assert mixed.to_arrow().column(0).to_pylist() == ["1", "a"]


def test_big_result_decodes_exactly(client):
    n = 20000
    (res,) = client.run(
        f"WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {n - 1}) "
        "SELECT i, i * 0.5 AS h, 'n' || i AS name, CASE WHEN i % 3 = 0 THEN NULL ELSE i END "
        "AS maybe, CAST('r' || i AS BLOB) AS raw FROM s").results()
    assert len(res) == n
    assert res.rows[12345] == (12345, 6172.5, "n12345", None, b"r12345")
    assert res.rows[1] == (1, 0.5, "n1", 1, b"r1")
    assert [r[0] for r in res.rows] == list(range(n))


# --------------------------------------------------------------------------------------
# Status, wait, cancel, detach, attach, jobs


def test_status_wait_timeout_and_cancel(client):
    job = client.run("SELECT sleep(60)")
    deadline = time.monotonic() + 30
    while job.status().code != StatusCode.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with pytest.raises(TimeoutError) as exc:
        job.wait(timeout=0.3)
    assert isinstance(exc.value, errors.DeadlineExceeded)
    assert exc.value.code == "DEADLINE_EXCEEDED"
    st = job.cancel()
    assert st.code in (StatusCode.CANCELLED, StatusCode.RUNNING)
    with pytest.raises(JobCancelled) as exc:
        job.wait(timeout=30)
    assert exc.value.code == "CANCELLED" and exc.value.job_id == job.id
    assert job.status().code == StatusCode.CANCELLED
    with pytest.raises(JobCancelled):
        list(job)
    # Cancelling a finished job is harmless.
    assert job.cancel().code == StatusCode.CANCELLED


def test_detach_and_attach(client):
    job = client.run("SELECT sleep(1); SELECT 42 AS answer", detach=True, timeout=600)
    again = client.attach(job.id)
    assert again.id == job.id
    assert again.results()[1].rows == [(42,)]
    assert again.wait().code == StatusCode.SUCCEEDED


def test_request_id_is_idempotent(client):
    rid = uuid.uuid4().hex
    a = client.run("SELECT 1", request_id=rid)
    b = client.run("SELECT 1", request_id=rid)
    assert a.id == b.id


def test_jobs_lists_every_page(client):
    ids = [client.run(f"SELECT {i}", request_id=uuid.uuid4().hex).id for i in range(3)]
    for i in ids:
        client.attach(i).wait()
    infos = client.jobs(page_size=1)
    listed = [j.job_id for j in infos]
    for i in ids:
        assert i in listed
    # Newest first.
    assert listed.index(ids[2]) < listed.index(ids[1]) < listed.index(ids[0])
    info = next(j for j in infos if j.job_id == ids[0])
    assert info.id == ids[0]
    assert info.status.code == StatusCode.SUCCEEDED
    assert info.summary == "SELECT 0"
    assert isinstance(info.submitted_at, dt.datetime) and info.submitted_at.tzinfo
    assert info.finished_at is not None and info.finished_at >= info.submitted_at
    assert len(client.jobs(limit=2)) == 2


# --------------------------------------------------------------------------------------
# Errors


def test_bad_sql_is_job_failed_with_the_statement(client):
    job = client.run("SELECT 1 AS one;\nSELECT * FROM no_such_table_here")
    with pytest.raises(JobFailed) as exc:
        job.wait()
    e = exc.value
    assert e.code == "FAILED" and isinstance(e, sqlflow.SQLFlowError)
    assert e.statement == "SELECT * FROM no_such_table_here"
    assert e.statement_index == 1
    assert "no such table" in e.error
    assert "no such table" in e.message and e.job_id == job.id
    assert job.status().code == StatusCode.FAILED
    # What ran before the failure is still there, and iteration raises at the end.
    seen = []
    with pytest.raises(JobFailed):
        for ev in job:
            seen.append(ev)
    assert kinds(seen) == "RE" and seen[0].rows == [(1,)]
    with pytest.raises(JobFailed):
        job.results()
    assert job.logs() == [] or all(isinstance(x, Log) for x in job.logs())


def test_unknown_job_is_not_found(client):
    job = client.attach("no-such-job")
    with pytest.raises(NotFound) as exc:
        job.status()
    assert exc.value.code == "NOT_FOUND" and "no-such-job" in exc.value.message
    with pytest.raises(NotFound):
        job.wait()
    with pytest.raises(NotFound):
        job.cancel()


def test_invalid_arguments(client):
    with pytest.raises(TypeError):
        client.run(b"SELECT 1")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgument):
        client.run("   ")
    with pytest.raises(errors.InvalidArgument):
        client.run("SELECT 1", timeout=-1)
    with pytest.raises(TypeError):
        client.run("SELECT 1", timeout="5")  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgument):
        client.run("SELECT 1", request_id="")
    with pytest.raises(TypeError):
        client.attach(42)  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidArgument):
        client.attach("x" * 5000)
    with pytest.raises(errors.InvalidArgument):
        Client(server="ftp://example.com")
    with pytest.raises(TypeError):
        Client(server=123)  # type: ignore[arg-type]
    # The server's own limit comes back as INVALID_ARGUMENT.
    with pytest.raises(errors.InvalidArgument) as exc:
        client.run("SELECT 1 -- " + "x" * (2 << 20))
    assert exc.value.code == "INVALID_ARGUMENT"


def test_unreachable_server_is_unavailable():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = Client(server=f"127.0.0.1:{port}")
    with pytest.raises(Unavailable) as exc:
        c.run("SELECT 1")
    assert exc.value.code == "UNAVAILABLE" and f"127.0.0.1:{port}" in exc.value.message
    # Attaching: the server never answered, so this is a wrong address, not a restart.
    t0 = time.monotonic()
    with pytest.raises(Unavailable):
        c.attach("x").wait()
    assert time.monotonic() - t0 < 20


def test_authentication(make_server, monkeypatch):
    for k in ("SQLFLOW_SERVER", "SQLFLOW_TOKEN", "SQLFLOW_DATASOURCE"):
        monkeypatch.delenv(k, raising=False)
    srv = make_server(users={"ann": "ann-secret-token", "bob": "bob-secret-token"})
    with pytest.raises(Unauthenticated) as exc:
        Client(server=srv.address).run("SELECT 1")
    assert exc.value.code == "UNAUTHENTICATED"
    with pytest.raises(Unauthenticated) as exc:
        Client(server=srv.address, token="wrong").run("SELECT 1")
    assert "invalid token" in exc.value.message
    with pytest.raises(Unauthenticated):
        Client(server=srv.address, token="wrong").jobs()
    ann = Client(server=srv.address, token="ann-secret-token")
    job = ann.run("SELECT 7 AS x")
    assert job.results()[0].rows == [(7,)]
    # The token from the environment, like the CLI.
    monkeypatch.setenv("SQLFLOW_TOKEN", "bob-secret-token")
    monkeypatch.setenv("SQLFLOW_SERVER", srv.url)
    bob = Client()
    assert bob.run("SELECT 1").wait().code == StatusCode.SUCCEEDED
    # Bob cannot see Ann's job.
    with pytest.raises((NotFound, errors.PermissionDenied)):
        bob.attach(job.id).status()
    assert job.id not in [j.job_id for j in bob.jobs()]


def test_environment_defaults(server, monkeypatch):
    monkeypatch.setenv("SQLFLOW_SERVER", server.address)  # host:port is accepted
    monkeypatch.delenv("SQLFLOW_TOKEN", raising=False)
    other = "sqlite://" + str(server.dir / "other.db")
    monkeypatch.setenv("SQLFLOW_DATASOURCE", other)
    c = Client()
    assert c.server == server.address and c.datasource == other
    t = table()
    c.run(f"CREATE TABLE {t}(a INT); INSERT INTO {t} VALUES (5)").wait()
    assert c.run(f"SELECT a FROM {t}").results()[0].rows == [(5,)]
    # The server's default datasource does not have it.
    monkeypatch.delenv("SQLFLOW_DATASOURCE")
    with pytest.raises(JobFailed):
        Client(server=server.url).run(f"SELECT a FROM {t}").wait()
    # An explicit datasource per run.
    assert Client(server=server.url).run(f"SELECT a FROM {t}", datasource=other
                                         ).results()[0].rows == [(5,)]
    monkeypatch.delenv("SQLFLOW_SERVER")
    assert Client().server == "http://127.0.0.1:50051"


# --------------------------------------------------------------------------------------
# Riding out restarts and lost replies


def _follow(job, on_first_result=None):
    seen = []
    fired = False
    for ev in job:
        seen.append(ev)
        if isinstance(ev, Result) and not fired and on_first_result:
            fired = True
            on_first_result()
    return seen


PROGRAM = ("SELECT 1 AS first; SELECT sleep(2) AS slept; SELECT 2 AS second; "
           "SELECT sleep(1) AS again; SELECT 3 AS third")


def test_server_killed_and_restarted_while_following(make_server):
    srv = make_server()
    c = Client(server=srv.address)
    job = c.run(PROGRAM)

    def crash():
        srv.kill()
        threading.Timer(1.5, srv.restart).start()

    seen = _follow(job, on_first_result=crash)
    assert kinds(seen) == "RE" * 5
    assert [e.rows for e in seen if isinstance(e, Result)] == [
        [(1,)], [(0,)], [(2,)], [(0,)], [(3,)]]
    assert [e.statement_index for e in seen if isinstance(e, StatementEnd)] == [0, 1, 2, 3, 4]
    assert job.wait().code == StatusCode.SUCCEEDED
    # The restarted server still has the job.
    assert c.attach(job.id).results()[4].rows == [(3,)]


def test_lost_replies_repeat_nothing(client, monkeypatch):
    class Lost(grpc.RpcError):
        def code(self):
            return grpc.StatusCode.UNAVAILABLE

        def details(self):
            return "reply lost"

    real = client._fetch_rpc
    calls = {"n": 0}

    def lossy(req, **kw):
        reply = real(req, **kw)
        calls["n"] += 1
        if calls["n"] % 2 == 1:
            raise Lost()  # the server answered, the reply never arrived
        return reply

    job = client.run(PROGRAM)
    monkeypatch.setattr(client, "_fetch_rpc", lossy)
    seen = _follow(job)
    assert kinds(seen) == "RE" * 5
    assert [e.rows for e in seen if isinstance(e, Result)] == [
        [(1,)], [(0,)], [(2,)], [(0,)], [(3,)]]
    assert calls["n"] >= 4


# --------------------------------------------------------------------------------------
# Hostile or unusual replies, decoded offline


def _page(*responses) -> list:
    return [r.SerializeToString() for r in responses]


def _head(*names):
    return pb.Response(head=pb.Head(column_names=list(names)))


def _row(*cells):
    return pb.Response(row=pb.Row(cells=list(cells)))


def test_figures_logs_and_events_from_responses(client):
    job = client.attach("offline")
    png = b"\x89PNG\r\n\x1a\nrest"
    job._take_all(_page(
        pb.Response(message=pb.Message(message="epoch 1/2: loss 0.5",
                                       kind=pb.Message.PROGRESS)),
        pb.Response(figure=pb.Figure(title="loss", mime_type="image/png", data=png)),
        pb.Response(figure=pb.Figure(title="roc", mime_type="image/svg+xml", data=b"<svg/>")),
        pb.Response(message=pb.Message(message="bad", kind=pb.Message.ERROR)),
        pb.Response(eoe=pb.EndOfExecution(sql="SELECT 1 TO TRAIN x", statement_index=0,
                                          spent_time_micros=1500000)),
    ))
    evs = job._events
    assert kinds(evs) == "LFFLE"
    assert evs[0].kind == LogKind.PROGRESS and evs[3].kind == LogKind.ERROR
    fig = evs[1]
    assert fig.title == "loss" and fig.mime_type == "image/png" and fig.data == png
    assert fig._repr_png_() == png and fig._repr_svg_() is None
    assert evs[2]._repr_svg_() == "<svg/>" and evs[2]._repr_png_() is None
    assert evs[4].spent_seconds == 1.5


def test_rows_wider_than_their_head_are_refused(client):
    job = client.attach("offline")
    job._take_all(_page(
        _head("a"),
        _row(pb.Cell(int64=1)),
        _row(pb.Cell(int64=2), pb.Cell(int64=3)),
        pb.Response(eoe=pb.EndOfExecution(sql="s")),
    ))
    res = job._events[0]
    with pytest.raises(errors.ProtocolError):
        res.rows
    job2 = client.attach("offline")
    with pytest.raises(errors.ProtocolError):
        job2._take_all(_page(_row(pb.Cell(int64=1))))  # a row without a head


def test_unusual_cells_fall_back_exactly(client):
    job = client.attach("offline")
    job._take_all(_page(
        _head("a", "b"),
        _row(pb.Cell(int64=1), pb.Cell()),  # an empty cell: NULL
        _row(pb.Cell(string="x"), pb.Cell(timestamp="2024-01-31 13:45:00.1+02")),
        _row(pb.Cell(null=pb.Cell.Null()), pb.Cell(date="not a date")),
        pb.Response(eoe=pb.EndOfExecution(sql="s")),
    ))
    rows = job._events[0].rows
    assert rows[0] == (1, None)
    assert rows[1][0] == "x"
    assert rows[1][1] == dt.datetime(2024, 1, 31, 13, 45, 0, 100000,
                                     tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert rows[2] == (None, "not a date")


def test_buffer_is_bounded(server):
    c = Client(server=server.address, max_buffer_bytes=10_000)
    job = c.run("WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s "
                "WHERE i < 5000) SELECT i, 'some text' FROM s")
    with pytest.raises(errors.ResourceExhausted) as exc:
        job.results()
    assert exc.value.code == "RESOURCE_EXHAUSTED"


def test_errors_pickle():
    import pickle

    e = JobFailed("statement 2 of 3 failed: boom\n  in: SELECT x", job_id="j")
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is JobFailed and e2.statement == "SELECT x" and e2.error == "boom"
    assert e2.statement_index == 1 and e2.job_id == "j"


def test_training_progress_and_figures(client):
    t = table("train")
    vals = ",".join(f"({i / 10}, {i % 3}, {(i % 3) * 2 + i / 100})" for i in range(60))
    job = client.run(
        f"CREATE TABLE {t}(x REAL, k INT, y REAL); INSERT INTO {t} VALUES {vals};\n"
        f"SELECT * FROM {t} TO TRAIN DNNRegressor WITH model.hidden_units = [4], "
        f"train.epoch = 3 LABEL y INTO m_{t}")
    assert job.wait().code == StatusCode.SUCCEEDED
    progress = [ln for ln in job.logs() if ln.kind == LogKind.PROGRESS]
    epochs = [ln.text.split(":")[0] for ln in progress if ln.text.startswith("epoch")]
    assert epochs == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert all(ln.statement_index == 2 for ln in progress)
    figs = job.figures()
    if not figs:
        pytest.skip("this server build sends no figures")
    fig = figs[0]
    assert fig.title == "loss" and fig.statement_index == 2
    assert fig.mime_type in ("image/png", "image/svg+xml")
    if fig.mime_type == "image/png":
        assert fig.data.startswith(b"\x89PNG\r\n\x1a\n") and fig._repr_png_() == fig.data
    # In the event stream, figures come before their statement's end.
    evs = list(job)
    assert kinds(evs).endswith("FE")


def test_run_with_request_id_rides_out_a_restart(make_server):
    srv = make_server()
    c = Client(server=srv.address)
    assert c.run("SELECT 1").wait().code == StatusCode.SUCCEEDED
    srv.kill()
    threading.Timer(1.0, srv.restart).start()
    rid = uuid.uuid4().hex
    job = c.run("SELECT 5 AS five", request_id=rid)  # retried until the server is back
    assert job.results()[0].rows == [(5,)]
    assert c.run("SELECT 5 AS five", request_id=rid).id == job.id
    # Without a request id a retry could run the program twice: no retry.
    srv.kill()
    with pytest.raises(Unavailable):
        c.run("SELECT 6")


def test_tls_with_a_ca_certificate(make_server, tmp_path, monkeypatch):
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (needed to make a test certificate)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"openssl cannot make a certificate: {made.stderr.strip()[-200:]}")
    for k in ("SQLFLOW_SERVER", "SQLFLOW_TOKEN", "SQLFLOW_DATASOURCE", "SQLFLOW_CA_CERT"):
        monkeypatch.delenv(k, raising=False)
    srv = make_server(extra_toml=f'[tls]\ncert_file = "{cert}"\nkey_file = "{key}"\n')
    port = srv.address.rsplit(":", 1)[1]
    url = f"https://localhost:{port}"
    c = Client(server=url, ca_cert=str(cert))
    assert c.run("SELECT 'secure' AS s").results()[0].rows == [("secure",)]
    assert Client(server=url, ca_cert=cert.read_bytes()).run("SELECT 1").wait().name == \
        "SUCCEEDED"
    monkeypatch.setenv("SQLFLOW_CA_CERT", str(cert))
    assert Client(server=url).jobs()
    monkeypatch.delenv("SQLFLOW_CA_CERT")
    # Plain text to a TLS server, or TLS without trusting its certificate, fails.
    with pytest.raises(Unavailable):
        Client(server=srv.address).run("SELECT 1")
    with pytest.raises(Unavailable):
        Client(server=url).run("SELECT 1")
