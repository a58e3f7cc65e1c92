#!/usr/bin/env python3
"""Regenerates python/sqlflow/_proto/ from proto/proto/sqlflow.proto.

    pip install grpcio-tools==1.80.1     # the version pinned in pyproject.toml [test]
    python python/tools/generate.py      # writes python/sqlflow/_proto/
    python python/tools/generate.py --out DIR   # elsewhere (the freshness test)

The generated gRPC module imports its messages absolutely (``import sqlflow_pb2``);
this script rewrites that to a relative import so the package works wherever it is
installed.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[1]
REPO = PYTHON_DIR.parent
PROTO_DIR = REPO / "proto" / "proto"
PROTO = "sqlflow.proto"
DEFAULT_OUT = PYTHON_DIR / "sqlflow" / "_proto"

INIT = '''"""Generated from proto/proto/sqlflow.proto by python/tools/generate.py. Do not edit."""
'''

FILES = ("__init__.py", "sqlflow_pb2.py", "sqlflow_pb2.pyi", "sqlflow_pb2_grpc.py")


def generate(out: pathlib.Path) -> None:
    try:
        from grpc_tools import protoc
    except ImportError:
        sys.exit("generate.py needs grpcio-tools: pip install 'sqlflow-rs[test]' "
                 "(or the grpcio-tools version pinned in python/pyproject.toml)")
    import importlib.resources

    out.mkdir(parents=True, exist_ok=True)
    include = str(importlib.resources.files("grpc_tools") / "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        str(PROTO_DIR / PROTO),
    ]
    rc = protoc.main(args)
    if rc != 0:
        sys.exit(f"protoc failed with status {rc}")
    grpc_file = out / "sqlflow_pb2_grpc.py"
    text = grpc_file.read_text()
    fixed, n = re.subn(r"^import sqlflow_pb2 as ", "from . import sqlflow_pb2 as ", text,
                       flags=re.M)
    if n != 1:
        sys.exit("generate.py: the absolute import in sqlflow_pb2_grpc.py was not found")
    grpc_file.write_text(fixed)
    (out / "__init__.py").write_text(INIT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT,
                    help=f"output directory (default: {DEFAULT_OUT})")
    generate(ap.parse_args().out)


if __name__ == "__main__":
    main()
