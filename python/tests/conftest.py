"""Fixtures: the real `sqlflow-server` binary with the local runner, in a temporary
directory, on a free port, with a SQLite datasource (`sqlite://test.db` in its directory).

    def test_something(server, client):
        job = client.run("SELECT 1")
        server.kill(); server.restart()      # same address, same jobs and database

The binaries come from `$SQLFLOW_BIN_DIR` (default `<repo>/target/debug`; `cargo test
--workspace` sets it to its profile directory). Without them the tests are skipped.

Fixtures: `server` (one per session, never restarted), `client` (a `sqlflow.Client` for
it), `module_server` (one per test module), `make_server` (a factory for servers of one test: `make_server(users={"ann":
"token"})`, kill and restart freely), `bin_dir`.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Dict, List, Optional

import pytest

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[1]
REPO = PYTHON_DIR.parent
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))


def bin_dir_path() -> pathlib.Path:
    return pathlib.Path(os.environ.get("SQLFLOW_BIN_DIR") or REPO / "target" / "debug")


class SQLFlowServer:
    """One `sqlflow-server` process (and its restarts) in its own directory.

    `address` is `127.0.0.1:PORT`, `url` the same with `http://`, `dir` the server's
    directory (sqlflow.toml, test.db, jobs/, server.log), `db_path` the SQLite file.
    """

    def __init__(self, bin_dir: pathlib.Path, directory: pathlib.Path,
                 users: Optional[Dict[str, str]] = None, extra_toml: str = "") -> None:
        self.bin_dir = bin_dir
        self.dir = directory
        self.db_path = directory / "test.db"
        self.address = ""
        self.proc: Optional[subprocess.Popen] = None
        self._pinned_address: Optional[str] = None
        deps = bin_dir / "deps"
        plugin_dir = deps if (deps / "liblocal_runner.so").is_file() else bin_dir
        tables = ""
        for name, token in (users or {}).items():
            digest = hashlib.sha256(token.encode()).hexdigest()
            tables += f'[[auth.users]]\nname = "{name}"\ntoken_sha256 = "{digest}"\n'
        (directory / "sqlflow.toml").write_text(
            'listen = "127.0.0.1:0"\n'
            f"plugin_dir = {json.dumps(str(plugin_dir))}\n"
            'datasource = "sqlite://test.db"\n'
            f"{extra_toml}\n"
            f"{tables}\n"
            "[runners.local]\n"
            'work_dir = "jobs"\n'
            f"step_binary = {json.dumps(str(bin_dir / 'sqlflow-step'))}\n"
            "sync_writes = false\n"
        )

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> "SQLFlowServer":
        assert self.proc is None, "the server is running"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SQLFLOW_")}
        env["RUST_LOG"] = "info"
        if self._pinned_address:
            env["SQLFLOW_LISTEN"] = self._pinned_address
        log = open(self.dir / "server.log", "ab")
        try:
            proc = subprocess.Popen(
                [str(self.bin_dir / "sqlflow-server"), "--config", "sqlflow.toml"],
                cwd=self.dir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=log)
        finally:
            log.close()
        lines: "queue.Queue[Optional[str]]" = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for raw in proc.stdout:
                lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + 30
        while True:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"sqlflow-server did not start; its log:\n{self.log()}")
            if line.startswith("listening on "):
                self.address = line[len("listening on "):].strip()
                break
        self.proc = proc
        self._pinned_address = self.address
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash would (the jobs keep running)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart(self) -> None:
        """Starts the server again (killing it first if it runs) on the same address,
        with the same directory, jobs and database."""
        self.kill()
        deadline = time.monotonic() + 10
        while True:
            try:
                self.start()
                return
            except RuntimeError:
                # The port may linger for a moment after the kill.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def log(self) -> str:
        try:
            return (self.dir / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        self.kill()
        # The jobs' processes outlive the server on purpose; end this server's ones.
        jobs = self.dir / "jobs"
        if jobs.is_dir():
            for d in jobs.iterdir():
                try:
                    pgid = int(json.loads((d / "process.json").read_text())["pgid"])
                except (OSError, ValueError, KeyError, TypeError):
                    continue
                if pgid > 1:
                    try:
                        os.killpg(pgid, signal.SIGKILL)
                    except OSError:
                        pass


def _require_binaries(bin_dir: pathlib.Path) -> None:
    missing = [n for n in ("sqlflow-server", "sqlflow-step") if not (bin_dir / n).is_file()]
    if not (bin_dir / "liblocal_runner.so").is_file() and not (
            bin_dir / "deps" / "liblocal_runner.so").is_file():
        missing.append("liblocal_runner.so")
    if missing:
        pytest.skip(f"{', '.join(missing)} not in {bin_dir}: run `cargo build --bins` "
                    "or set SQLFLOW_BIN_DIR")


@pytest.fixture(scope="session")
def bin_dir() -> pathlib.Path:
    d = bin_dir_path()
    _require_binaries(d)
    return d


@pytest.fixture(scope="session")
def server(bin_dir):
    """A server for the whole session (do not kill it: use `make_server`)."""
    tmp = tempfile.mkdtemp(prefix="sqlflow-py-")
    srv = SQLFlowServer(bin_dir, pathlib.Path(tmp)).start()
    yield srv
    srv.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def module_server(bin_dir):
    """A server for one test module (a module can rename it `server` to keep its jobs
    out of the session server's listing)."""
    tmp = tempfile.mkdtemp(prefix="sqlflow-py-")
    srv = SQLFlowServer(bin_dir, pathlib.Path(tmp)).start()
    yield srv
    srv.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def make_server(bin_dir, tmp_path):
    """A factory of servers owned by one test: `make_server(users={"ann": "tok"})`."""
    started: List[SQLFlowServer] = []

    def make(users: Optional[Dict[str, str]] = None, extra_toml: str = "") -> SQLFlowServer:
        d = tmp_path / f"server{len(started)}"
        d.mkdir()
        srv = SQLFlowServer(bin_dir, d, users=users, extra_toml=extra_toml)
        started.append(srv)
        return srv.start()

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture
def client(server, monkeypatch):
    """A `sqlflow.Client` for the session's server (SQLFLOW_* variables cleared)."""
    for k in ("SQLFLOW_SERVER", "SQLFLOW_TOKEN", "SQLFLOW_DATASOURCE", "SQLFLOW_CA_CERT"):
        monkeypatch.delenv(k, raising=False)
    from sqlflow import Client

    c = Client(server=server.address)
    yield c
    c.close()
