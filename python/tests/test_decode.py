"""The column-wise decoders agree with the generated classes, cell by cell, on every
kind of cell, NULLs and odd encodings (offline: no server)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from sqlflow import client as C
from sqlflow._proto import sqlflow_pb2 as pb

try:
    import numpy  # noqa: F401

    HAVE_NUMPY = True
except ImportError:  # the column-wise protobuf path alone
    HAVE_NUMPY = False


def reference(rows):
    out = []
    for b in rows:
        out.append(tuple(C._cell_value(c) for c in pb.Response.FromString(b).row.cells))
    return out


def encode(rows):
    return [pb.Response(row=pb.Row(cells=r)).SerializeToString() for r in rows]


def random_cell(rnd, kind):
    if rnd.random() < 0.2:
        return pb.Cell(null=pb.Cell.Null())
    if kind == "int64":
        return pb.Cell(int64=rnd.choice([0, 1, -1, 2**63 - 1, -2**63, 300, -300,
                                         rnd.randrange(-2**62, 2**62)]))
    if kind == "double":
        return pb.Cell(double=rnd.choice([0.0, -0.0, 1.5, -1e300, 1e-300,
                                          float("inf"), rnd.random()]))
    if kind == "bool":
        return pb.Cell(bool=rnd.random() < 0.5)
    if kind == "string":
        return pb.Cell(string=rnd.choice(["", "x", "héllo ☃", "a" * 300, "𝄞" * 50]))
    if kind == "bytes":
        return pb.Cell(bytes=bytes(rnd.randrange(256) for _ in range(rnd.randrange(200))))
    if kind == "decimal":
        return pb.Cell(decimal=rnd.choice(["0", "-12.345", "123456789012345678901234.5"]))
    if kind == "date":
        return pb.Cell(date="2024-02-29")
    if kind == "time":
        return pb.Cell(time="13:45:00.5")
    return pb.Cell(timestamp="2024-01-31 13:45:00.123456")


KINDS = ["int64", "double", "bool", "string", "bytes", "decimal", "date", "time",
         "timestamp"]


@pytest.mark.parametrize("seed", range(4))
def test_decoders_agree_with_the_generated_classes(seed):
    rnd = random.Random(seed)
    n = rnd.choice([1, 63, 64, 500])
    rows = [[random_cell(rnd, k) for k in KINDS] for _ in range(n)]
    raw = encode(rows)
    want = reference(raw)
    data, kinds = C._decode_rows(raw, len(KINDS))
    assert list(zip(*data)) == want
    fast = C._decode_rows_numpy(raw, len(KINDS))
    if HAVE_NUMPY:
        assert (fast is not None) == (n >= 64)  # the vectorized path takes every kind
    if fast is not None:
        cols = [c.tolist() if hasattr(c, "tolist") else c for c in fast[0]]
        assert list(zip(*cols)) == want
    res = C.Result([f"c{i}" for i in range(len(KINDS))], [""] * len(KINDS), raw)
    assert res.rows == want
    assert isinstance(want[0][5] if want[0][5] is not None else Decimal(0), Decimal)


def test_all_null_mixed_and_empty_cells():
    rnd = random.Random(9)
    rows = []
    for i in range(100):
        rows.append([pb.Cell(null=pb.Cell.Null()),
                     pb.Cell(int64=i) if i % 2 else pb.Cell(string=str(i)),
                     pb.Cell() if i == 50 else pb.Cell(double=i / 2)])
    raw = encode(rows)
    assert C._decode_rows_numpy(raw, 3) is None  # mixed: the exact path decides
    res = C.Result(["a", "b", "c"], ["", "", ""], raw)
    assert res.rows == reference(raw)
    assert res._kinds == ["null", "mixed", "double"]
    assert res.rows[50] == (None, "50", None)
    del rnd


def test_ragged_rows_are_refused_by_both_paths():
    rows = [[pb.Cell(int64=i), pb.Cell(int64=i)] for i in range(100)]
    rows[40] = [pb.Cell(int64=1)]
    rows[41] = [pb.Cell(int64=1)] * 3
    raw = encode(rows)
    assert C._decode_rows_numpy(raw, 2) is None
    with pytest.raises(C.ProtocolError):
        C._decode_rows(raw, 2)


def test_pandas_dtypes_follow_read_sql():
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    rows = [[pb.Cell(int64=i), pb.Cell(null=pb.Cell.Null()) if i == 3 else pb.Cell(int64=i),
             pb.Cell(double=0.5), pb.Cell(string=f"s{i}"),
             pb.Cell(null=pb.Cell.Null()) if i == 7 else pb.Cell(bool=True),
             pb.Cell(timestamp="2024-01-31 13:45:00")] for i in range(100)]
    res = C.Result(list("abcdef"), [""] * 6, encode(rows))
    df = res.to_pandas()
    assert str(df["a"].dtype) == "int64"
    assert str(df["b"].dtype) == "float64" and pd.isna(df["b"][3])
    assert str(df["c"].dtype) == "float64"
    assert df["d"][42] == "s42"
    assert df["e"][7] is None and df["e"][0] is True
    assert df["f"][0] == pd.Timestamp(dt.datetime(2024, 1, 31, 13, 45))
