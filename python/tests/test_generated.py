"""The generated code in sqlflow/_proto is what tools/generate.py makes from
proto/proto/sqlflow.proto now: a proto change without regenerating fails here.

The protocol itself (the serialized descriptor embedded in sqlflow_pb2.py, and the
service's methods) is compared with any grpcio-tools; the files byte for byte when the
installed grpcio-tools is the version pinned in pyproject.toml (the generator's own
boilerplate differs between versions)."""

from __future__ import annotations

import ast
import importlib.metadata
import pathlib
import re
import subprocess
import sys

import pytest

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[1]
GENERATED = PYTHON_DIR / "sqlflow" / "_proto"
FILES = ("__init__.py", "sqlflow_pb2.py", "sqlflow_pb2.pyi", "sqlflow_pb2_grpc.py")


def descriptor(d: pathlib.Path) -> bytes:
    m = re.search(r"AddSerializedFile\((b'.*?')\)\n", (d / "sqlflow_pb2.py").read_text(),
                  re.S)
    assert m, f"no serialized descriptor in {d / 'sqlflow_pb2.py'}"
    return ast.literal_eval(m.group(1))


def methods(d: pathlib.Path) -> list:
    return sorted(set(re.findall(r"'(/sqlflow\.SQLFlow/\w+)'",
                                 (d / "sqlflow_pb2_grpc.py").read_text())))


def pinned_generator() -> str:
    m = re.search(r'"grpcio-tools==([^"]+)"', (PYTHON_DIR / "pyproject.toml").read_text())
    assert m, "pyproject.toml pins no grpcio-tools"
    return m.group(1)


def test_generated_code_is_current(tmp_path):
    pytest.importorskip("grpc_tools", reason="grpcio-tools is not installed "
                        "(pip install './python[test]')")
    subprocess.run([sys.executable, str(PYTHON_DIR / "tools" / "generate.py"),
                    "--out", str(tmp_path)], check=True)
    hint = "proto/proto/sqlflow.proto changed: run python/tools/generate.py " \
           f"(with grpcio-tools=={pinned_generator()})"
    assert descriptor(tmp_path) == descriptor(GENERATED), hint
    assert methods(tmp_path) == methods(GENERATED), hint
    assert len(methods(GENERATED)) == 4
    if importlib.metadata.version("grpcio-tools") == pinned_generator():
        stale = [f for f in FILES
                 if (tmp_path / f).read_bytes() != (GENERATED / f).read_bytes()]
        assert not stale, f"python/sqlflow/_proto/{stale} are stale: {hint}"


def test_generated_code_knows_every_response_kind():
    from sqlflow._proto import sqlflow_pb2 as pb

    kinds = [f.name for f in pb.Response.DESCRIPTOR.oneofs_by_name["response"].fields]
    assert kinds == ["head", "row", "message", "eoe", "figure"]
