"""DB-API 2.0 (PEP 249) against the real server."""

from __future__ import annotations

import uuid
import warnings

import pytest

import sqlflow
from sqlflow import dbapi


@pytest.fixture(scope="module")
def server(module_server):
    """This module's own server: its many jobs stay out of the session server's list."""
    return module_server


def table() -> str:
    return f"d_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def conn(server):
    c = sqlflow.connect(server=server.address)
    yield c
    c.close()


def test_module_globals():
    assert dbapi.apilevel == "2.0"
    assert dbapi.threadsafety in (0, 1, 2, 3)
    assert dbapi.paramstyle in ("qmark", "numeric", "named", "format", "pyformat")
    assert issubclass(dbapi.ProgrammingError, dbapi.DatabaseError)
    assert issubclass(dbapi.IntegrityError, dbapi.DatabaseError)
    assert issubclass(dbapi.DatabaseError, dbapi.Error)
    assert issubclass(dbapi.InterfaceError, dbapi.Error)
    assert issubclass(dbapi.NotSupportedError, dbapi.DatabaseError)
    assert issubclass(dbapi.Error, Exception) and issubclass(dbapi.Warning, Exception)
    assert issubclass(dbapi.Error, sqlflow.SQLFlowError)
    assert dbapi.Date(2024, 1, 2).year == 2024 and dbapi.Binary(b"x") == b"x"
    assert dbapi.TimestampFromTicks(0).year >= 1969
    assert sqlflow.connect is dbapi.connect


def test_cursor_execute_fetch_description(conn):
    t = table()
    cur = conn.cursor()
    assert cur.description is None and cur.rowcount == -1 and cur.arraysize == 1
    cur.execute(f"CREATE TABLE {t}(a INTEGER, b TEXT, c REAL)")
    assert cur.description is None
    cur.execute(f"INSERT INTO {t} VALUES (1, 'x', 0.5), (2, NULL, 1.5), (3, 'z', NULL)")
    assert cur.rowcount == 3
    assert cur.job_id
    cur.execute(f"SELECT a, b, c FROM {t} ORDER BY a")
    desc = cur.description
    assert [d[0] for d in desc] == ["a", "b", "c"]
    assert all(len(d) == 7 for d in desc)
    assert desc[0][1] == dbapi.NUMBER and desc[1][1] == dbapi.STRING
    assert desc[2][1] == dbapi.NUMBER and desc[1][1] != dbapi.NUMBER
    assert desc[1][6] is True and desc[0][6] is False
    assert cur.rowcount == 3
    assert cur.fetchone() == (1, "x", 0.5)
    cur.arraysize = 1
    assert cur.fetchmany() == [(2, None, 1.5)]
    assert cur.fetchmany(5) == [(3, "z", None)]
    assert cur.fetchone() is None and cur.fetchall() == []
    cur.execute(f"SELECT a FROM {t} ORDER BY a")
    assert list(cur) == [(1,), (2,), (3,)]
    cur.execute(f"SELECT a FROM {t} ORDER BY a")
    assert cur.fetchall() == [(1,), (2,), (3,)]
    # Several result sets.
    cur.execute(f"SELECT 1 AS one; SELECT 'two' AS two")
    assert cur.fetchall() == [(1,)]
    assert cur.nextset() is True and cur.description[0][0] == "two"
    assert cur.fetchall() == [("two",)]
    assert cur.nextset() is None
    cur.executemany(f"INSERT INTO {t} VALUES (9, 'n', 9.0)", [(), ()])
    cur.execute(f"SELECT COUNT(*) FROM {t} WHERE a = 9")
    assert cur.fetchone() == (2,)
    cur.close()
    with pytest.raises(dbapi.InterfaceError):
        cur.execute("SELECT 1")
    with pytest.raises(dbapi.InterfaceError):
        cur.fetchone()


def test_no_result_set_is_programming_error(conn):
    cur = conn.cursor()
    with pytest.raises(dbapi.ProgrammingError):
        cur.fetchall()


def test_parameters_are_refused(conn):
    cur = conn.cursor()
    with pytest.raises(dbapi.NotSupportedError) as exc:
        cur.execute("SELECT ?", ("1; DROP TABLE x",))
    assert "parameters" in exc.value.message
    with pytest.raises(dbapi.NotSupportedError):
        cur.execute("SELECT :a", {"a": 1})
    with pytest.raises(dbapi.NotSupportedError):
        cur.executemany("SELECT ?", [(1,)])
    # Empty parameters are fine.
    assert cur.execute("SELECT 5", ()).fetchall() == [(5,)]
    with pytest.raises(dbapi.InterfaceError):
        cur.execute(b"SELECT 1")  # type: ignore[arg-type]


def test_transactions(conn):
    conn.commit()  # statements auto-commit
    with pytest.raises(dbapi.NotSupportedError):
        conn.rollback()


def test_errors_map_to_pep249(conn, make_server):
    cur = conn.cursor()
    with pytest.raises(dbapi.ProgrammingError) as exc:
        cur.execute("SELECT * FROM no_such_table_dbapi")
    e = exc.value
    assert e.code == "FAILED" and "no such table" in e.message
    assert e.statement == "SELECT * FROM no_such_table_dbapi"
    assert isinstance(e.__cause__, sqlflow.JobFailed)
    with pytest.raises(dbapi.ProgrammingError):
        cur.execute("SELEC oops")
    t = table()
    cur.execute(f"CREATE TABLE {t}(a INTEGER PRIMARY KEY)")
    cur.execute(f"INSERT INTO {t} VALUES (1)")
    with pytest.raises(dbapi.IntegrityError):
        cur.execute(f"INSERT INTO {t} VALUES (1)")
    srv = make_server(users={"ann": "token-of-ann"})
    with pytest.raises(dbapi.OperationalError) as exc:
        sqlflow.connect(server=srv.address, token="nope").cursor().execute("SELECT 1")
    assert exc.value.code == "UNAUTHENTICATED"
    ok = sqlflow.connect(server=srv.address, token="token-of-ann").cursor()
    assert ok.execute("SELECT 1").fetchone() == (1,)


def test_closed_connection(server):
    c = sqlflow.connect(server=server.address)
    cur = c.cursor()
    c.close()
    with pytest.raises(dbapi.InterfaceError):
        c.cursor()
    with pytest.raises(dbapi.InterfaceError):
        cur.execute("SELECT 1")
    with sqlflow.connect(server=server.address) as c2:
        with c2.cursor() as cur2:
            assert cur2.execute("SELECT 2").fetchone() == (2,)


def test_pandas_read_sql(conn):
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    t = table()
    conn.cursor().execute(f"CREATE TABLE {t}(a INTEGER, b TEXT); "
                          f"INSERT INTO {t} VALUES (1, 'x'), (2, 'y')")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas prefers SQLAlchemy connectables
        df = pd.read_sql(f"SELECT a, b FROM {t} ORDER BY a", conn)
        chunks = list(pd.read_sql(f"SELECT a FROM {t} ORDER BY a", conn, chunksize=1))
    assert list(df.columns) == ["a", "b"]
    assert df["a"].tolist() == [1, 2] and df["b"].tolist() == ["x", "y"]
    assert [c["a"].tolist() for c in chunks] == [[1], [2]]
