"""general_tolerance: ISO 2768-1 and -2 tables at their range boundaries and against the oracle."""

import json

import pytest
from conftest import ORACLES, error, ok

ORACLE = json.loads((ORACLES / "tolerances.json").read_text())["iso2768_linear"]


def tol(nominal, cls, kind="linear"):
    return ok(None, "general_tolerance", {"nominal": nominal, "class": cls, "kind": kind})


@pytest.mark.parametrize("cls", ["f", "m", "c", "v"])
def test_linear_oracle_every_range_at_both_ends(cls):
    for (low, high), expected in zip(ORACLE["ranges_mm"], ORACLE[cls], strict=True):
        inside = [high, (low + high) / 2] + ([low] if low == 0.5 else [low + 0.001])
        for nominal in inside:
            if expected is None:
                e = error(None, "general_tolerance", {"nominal": nominal, "class": cls})
                assert e["code"] == "bad_arguments" and f"class '{cls}'" in e["message"]
            else:
                r = tol(nominal, cls)
                assert r["tolerance"] == expected and r["upper"] == expected and r["lower"] == -expected
                assert r["unit"] == "mm" and r["size_range"][1] == high


def test_linear_outside_the_table():
    assert "0.5" in error(None, "general_tolerance", {"nominal": 0.49, "class": "m"})["message"]
    assert "4000" in error(None, "general_tolerance", {"nominal": 4000.5, "class": "m"})["message"]
    assert tol(4000, "m")["tolerance"] == 2


def test_designations():
    assert tol(100, "ISO 2768-mK")["tolerance"] == 0.3
    assert tol(100, "mK", "flatness")["tolerance"] == 0.2
    assert tol(100, "M")["class"] == "m"
    assert error(None, "general_tolerance", {"nominal": 10, "class": "K"})["code"] == "bad_arguments"
    assert "H, K or L" in error(None, "general_tolerance", {"nominal": 10, "class": "m", "kind": "flatness"})["message"]
    assert error(None, "general_tolerance", {"nominal": 10, "class": "x"})["code"] == "bad_arguments"
    assert error(None, "general_tolerance", {"nominal": 10, "class": "m", "kind": "taper"})["code"] == "bad_arguments"
    assert error(None, "general_tolerance", {"nominal": 10})["code"] == "bad_arguments"


# ISO 2768-1 Table 2: broken edges, ± mm, ranges 0.5-3, 3-6, over 6.
@pytest.mark.parametrize(("nominal", "fine", "coarse"), [
    (0.5, 0.2, 0.4), (3, 0.2, 0.4), (3.01, 0.5, 1), (6, 0.5, 1), (6.01, 1, 2), (250, 1, 2)])
def test_broken_edges(nominal, fine, coarse):
    assert tol(nominal, "f", "broken_edge")["tolerance"] == fine
    assert tol(nominal, "m", "broken_edge")["tolerance"] == fine
    assert tol(nominal, "c", "broken_edge")["tolerance"] == coarse
    assert tol(nominal, "v", "broken_edge")["tolerance"] == coarse


# ISO 2768-1 Table 3: angles by the shorter leg; minutes of arc.
@pytest.mark.parametrize(("leg", "fm", "c", "v"), [
    (10, 60, 90, 180), (10.01, 30, 60, 120), (50, 30, 60, 120), (50.01, 20, 30, 60),
    (120, 20, 30, 60), (120.01, 10, 15, 30), (400, 10, 15, 30), (400.01, 5, 10, 20), (5000, 5, 10, 20)])
def test_angular(leg, fm, c, v):
    for cls, minutes in (("f", fm), ("m", fm), ("c", c), ("v", v)):
        r = tol(leg, cls, "angular")
        assert r["tolerance"] == pytest.approx(minutes / 60) and r["unit"] == "deg"
    assert tol(10, "c", "angular")["text"] == "1°30'"


# ISO 2768-2 Tables 1-4 (mm).
@pytest.mark.parametrize(("kind", "length", "h", "k", "l"), [
    ("straightness", 10, 0.02, 0.05, 0.1), ("flatness", 10.01, 0.05, 0.1, 0.2), ("flatness", 30, 0.05, 0.1, 0.2),
    ("straightness", 100, 0.1, 0.2, 0.4), ("flatness", 300, 0.2, 0.4, 0.8), ("flatness", 1000, 0.3, 0.6, 1.2),
    ("flatness", 3000, 0.4, 0.8, 1.6),
    ("perpendicularity", 100, 0.2, 0.4, 0.6), ("perpendicularity", 100.01, 0.3, 0.6, 1),
    ("perpendicularity", 1000, 0.4, 0.8, 1.5), ("perpendicularity", 3000, 0.5, 1, 2),
    ("symmetry", 100, 0.5, 0.6, 0.6), ("symmetry", 300, 0.5, 0.6, 1), ("symmetry", 1000, 0.5, 0.8, 1.5),
    ("symmetry", 3000, 0.5, 1, 2), ("runout", 5, 0.1, 0.2, 0.5), ("runout", 2500, 0.1, 0.2, 0.5)])
def test_iso2768_2(kind, length, h, k, l):  # noqa: E741
    for cls, expected in (("H", h), ("K", k), ("L", l)):
        r = tol(length, cls, kind)
        assert r["tolerance"] == expected and "upper" not in r


def test_iso2768_2_outside():
    assert "3000" in error(None, "general_tolerance", {"nominal": 3000.5, "class": "K", "kind": "flatness"})["message"]
