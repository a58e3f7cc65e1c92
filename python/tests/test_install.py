"""`pip install ./python` into a fresh virtual environment, then a query through it."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(module_server):
    """This module's own server: its many jobs stay out of the session server's list."""
    return module_server


def test_pip_install_into_a_fresh_venv(server, tmp_path):
    try:
        import venv  # noqa: F401
    except ImportError:
        pytest.skip("the venv module is not available")
    # Build from a copy so the shared source tree gets no build/ or egg-info.
    src = tmp_path / "src"
    shutil.copytree(PYTHON_DIR, src, ignore=shutil.ignore_patterns(
        "tests", "examples", "bench", "__pycache__", ".pytest_cache", "build", "*.egg-info"))
    env_dir = tmp_path / "venv"
    # --without-pip: the venv runs this interpreter's pip and setuptools (via the system
    # site), so nothing is downloaded.
    made = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages",
                           "--without-pip", str(env_dir)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot create a virtual environment: {made.stderr.strip()[-300:]}")
    py = env_dir / "bin" / "python"
    if subprocess.run([str(py), "-m", "pip", "--version"], capture_output=True).returncode:
        pytest.skip("pip is not installed")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SQLFLOW_") and k != "PYTHONPATH"}
    # The dependencies come from the system site (no network needed); no build isolation
    # for the same reason.
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-build-isolation",
                    "--no-index", str(src)], check=True, env=env, cwd=tmp_path)
    out = subprocess.run(
        [str(py), "-c",
         "import sqlflow, sys; "
         "print(sqlflow.__file__); "
         f"print(sqlflow.Client({server.address!r}).run('SELECT 40 + 2 AS x')"
         ".results()[0].rows)"],
        check=True, capture_output=True, text=True, env=env, cwd=tmp_path)
    where, rows = out.stdout.strip().splitlines()[-2:]
    assert str(env_dir) in where, where
    assert rows == "[(42,)]"
    shown = subprocess.run([str(py), "-m", "pip", "show", "sqlflow-rs"], check=True,
                           capture_output=True, text=True, env=env).stdout
    assert "Requires: grpcio, protobuf" in shown
