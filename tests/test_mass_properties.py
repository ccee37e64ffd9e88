"""mass_properties against volumes, areas and inertia computed by hand."""

import math

import pytest
from conftest import FreeCAD, Part, V, add_shape, error, ok


def test_box_volume_area_com_mass(doc):
    add_shape(doc, "Block", Part.makeBox(10, 20, 30), FreeCAD.Placement(V(5, 0, 0), FreeCAD.Rotation()))
    r = ok(doc, "mass_properties", {"object": "Block", "density": 2.7})
    assert r["volume"] == pytest.approx(6000)
    assert r["area"] == pytest.approx(2 * (200 + 300 + 600))
    assert r["center_of_mass"] == pytest.approx([10, 10, 15])
    assert r["bbox"]["min"] == pytest.approx([5, 0, 0]) and r["bbox"]["max"] == pytest.approx([15, 20, 30])
    assert r["mass"] == pytest.approx(6000 * 2.7e-3)
    # Ixx of a box about its centre: m (b² + c²) / 12
    m = 6000 * 2.7e-3
    assert r["inertia"][0][0] == pytest.approx(m * (20**2 + 30**2) / 12, rel=1e-6)
    assert r["inertia"][2][2] == pytest.approx(m * (10**2 + 20**2) / 12, rel=1e-6)


def test_cylinder_cone_torus_volumes(doc):
    add_shape(doc, "Cyl", Part.makeCylinder(3, 10))
    add_shape(doc, "Cone", Part.makeCone(4, 2, 6))
    add_shape(doc, "Torus", Part.makeTorus(10, 2))
    assert ok(doc, "mass_properties", {"object": "Cyl"})["volume"] == pytest.approx(math.pi * 9 * 10, rel=1e-9)
    assert ok(doc, "mass_properties", {"object": "Cone"})["volume"] == pytest.approx(
        math.pi * 6 / 3 * (16 + 8 + 4), rel=1e-9
    )
    assert ok(doc, "mass_properties", {"object": "Torus"})["volume"] == pytest.approx(
        2 * math.pi**2 * 10 * 4, rel=1e-6
    )


def test_rotated_off_axis_centre_of_mass(doc):
    placement = FreeCAD.Placement(V(100, -50, 7), FreeCAD.Rotation(V(0, 0, 1), 90))
    add_shape(doc, "Bar", Part.makeBox(40, 2, 2), placement)
    r = ok(doc, "mass_properties", {"object": "Bar"})
    # the bar's centre (20, 1, 1) turned 90° about Z is (-1, 20, 1), then moved
    assert r["center_of_mass"] == pytest.approx([99, -30, 8])


def test_errors(doc):
    add_shape(doc, "Block", Part.makeBox(1, 1, 1))
    assert error(doc, "mass_properties", {"object": "Nope"})["code"] == "bad_reference"
    assert error(doc, "mass_properties", {"object": "Block.Face1"})["code"] == "bad_reference"
    assert error(doc, "mass_properties", {"object": "Block", "density": "heavy"})["code"] == "bad_arguments"
    assert error(doc, "mass_properties", {})["code"] == "bad_arguments"
    add_shape(doc, "Sheet", Part.makePlane(5, 5))
    assert error(doc, "mass_properties", {"object": "Sheet"})["code"] == "not_applicable"


def test_a_solid_without_volume_is_a_clear_error(doc):
    square = Part.Face(Part.makePolygon([V(0, 0, 0), V(10, 0, 0), V(10, 10, 0), V(0, 10, 0), V(0, 0, 0)]))
    back = square.copy()
    back.reverse()
    add_shape(doc, "Flat", Part.Solid(Part.Shell([square, back])))
    err = error(doc, "mass_properties", {"object": "Flat"})
    assert err["code"] != "internal_error" and "encloses no volume" in err["message"], err


def test_a_compound_is_weighed_by_volume(doc):
    pair = Part.Compound([Part.makeBox(10, 10, 10), Part.makeBox(20, 10, 10, V(100, 0, 0))])
    add_shape(doc, "Pair", pair)
    r = ok(doc, "mass_properties", {"object": "Pair", "density": 2.0})
    # 1000 mm³ centred at x=5 and 2000 mm³ centred at x=110: (5·1000 + 110·2000) / 3000 = 75
    assert r["volume"] == pytest.approx(3000) and r["center_of_mass"] == pytest.approx([75, 5, 5])
    assert r["mass"] == pytest.approx(6.0)
    # A compound has its inertia too (about the common centre of mass): Iyy of the pair by the parallel-axis theorem.
    iyy = 2.0 * (10**2 + 10**2) / 12 + 2.0 * 70**2 + 4.0 * (20**2 + 10**2) / 12 + 4.0 * 35**2
    assert r["inertia"][1][1] == pytest.approx(iyy, rel=1e-6)


def _box_inertia(m, a, b, c):
    """Inertia tensor of an a×b×c box of mass m about its centre: diag(m(b²+c²)/12, m(a²+c²)/12, m(a²+b²)/12)."""
    return [[m * (b * b + c * c) / 12, 0, 0], [0, m * (a * a + c * c) / 12, 0], [0, 0, m * (a * a + b * b) / 12]]


def _shifted(tensor, m, d):
    """Parallel-axis theorem: the tensor about a point at -d from the centre of mass, I + m(|d|²E − d dᵀ)."""
    d2 = sum(x * x for x in d)
    return [[tensor[r][k] + m * ((d2 if r == k else 0) - d[r] * d[k]) for k in range(3)] for r in range(3)]


def _close(actual, expected, rel=1e-6):
    scale = max(abs(v) for row in expected for v in row)
    for r in range(3):
        for k in range(3):
            assert actual[r][k] == pytest.approx(expected[r][k], abs=rel * scale), (r, k, actual, expected)


def test_overlapping_solids_are_weighed_once_and_named(doc):
    # Two 10 mm cubes overlapping by half: their union is a 15×10×10 block (1500 mm³, not 2000).
    add_shape(doc, "Pair", Part.Compound([Part.makeBox(10, 10, 10), Part.makeBox(10, 10, 10, V(5, 0, 0))]))
    r = ok(doc, "mass_properties", {"object": "Pair", "density": 2.7})
    assert r["volume"] == pytest.approx(1500, rel=1e-9)
    assert r["center_of_mass"] == pytest.approx([7.5, 5, 5])
    assert r["area"] == pytest.approx(2 * (150 + 150 + 100))  # the union's skin, not 12 overlapping faces
    assert r["solids"] == 2
    (pair,) = r["overlapping_solids"]
    assert pair["solids"] == ["Solid1", "Solid2"] and pair["volume"] == pytest.approx(500, rel=1e-9)
    assert r["summed_volume"] == pytest.approx(2000)
    assert "overlap" in r["note"] and "1500" in r["note"] and "2000" in r["note"]
    m = 1500 * 2.7e-3
    assert r["mass"] == pytest.approx(m)
    _close(r["inertia"], _box_inertia(m, 15, 10, 10))


def test_disjoint_boxes_add_up_with_parallel_axis_inertia(doc):
    a = Part.makeBox(10, 10, 10)  # 1000 mm³ centred at (5, 5, 5)
    b = Part.makeBox(20, 10, 10, V(20, 30, 0))  # 2000 mm³ centred at (30, 35, 5)
    add_shape(doc, "Two", Part.Compound([a, b]))
    r = ok(doc, "mass_properties", {"object": "Two", "density": 7.85})
    assert "overlapping_solids" not in r and "note" not in r
    assert r["volume"] == pytest.approx(3000)
    com = [(5 * 1000 + 30 * 2000) / 3000, (5 * 1000 + 35 * 2000) / 3000, 5]
    assert r["center_of_mass"] == pytest.approx(com)
    rho = 7.85e-3
    ma, mb = 1000 * rho, 2000 * rho
    assert r["mass"] == pytest.approx(ma + mb)
    ia = _shifted(_box_inertia(ma, 10, 10, 10), ma, [5 - com[0], 5 - com[1], 0])
    ib = _shifted(_box_inertia(mb, 20, 10, 10), mb, [30 - com[0], 35 - com[1], 0])
    expected = [[ia[r][k] + ib[r][k] for k in range(3)] for r in range(3)]
    assert expected[0][1] < 0  # a real product of inertia: the boxes sit on a diagonal
    _close(r["inertia"], expected)


def test_touching_solids_do_not_overlap_and_chains_fuse_together(doc):
    touching = Part.Compound([Part.makeBox(10, 10, 10), Part.makeBox(10, 10, 10, V(10, 0, 0))])
    add_shape(doc, "Touching", touching)
    r = ok(doc, "mass_properties", {"object": "Touching"})
    assert r["volume"] == pytest.approx(2000) and "overlapping_solids" not in r
    # Solid1 overlaps Solid2, Solid2 overlaps Solid3 (Solid1 and Solid3 only touch); Solid4 is apart.
    chain = [Part.makeBox(10, 10, 10, V(x, 0, 0)) for x in (0, 5, 10)] + [Part.makeBox(10, 10, 10, V(100, 0, 0))]
    add_shape(doc, "Chain", Part.Compound(chain))
    r = ok(doc, "mass_properties", {"object": "Chain", "density": 1.0})
    assert r["volume"] == pytest.approx(2000 + 1000, rel=1e-9)
    assert [p["solids"] for p in r["overlapping_solids"]] == [["Solid1", "Solid2"], ["Solid2", "Solid3"]]
    assert r["center_of_mass"] == pytest.approx([(10 * 2000 + 105 * 1000) / 3000, 5, 5])
    m_union, m_apart, com_x = 2.0, 1.0, (10 * 2000 + 105 * 1000) / 3000
    expected = [
        [x + y for x, y in zip(row_a, row_b, strict=True)]
        for row_a, row_b in zip(
            _shifted(_box_inertia(m_union, 20, 10, 10), m_union, [10 - com_x, 0, 0]),
            _shifted(_box_inertia(m_apart, 10, 10, 10), m_apart, [105 - com_x, 0, 0]),
            strict=True,
        )
    ]
    _close(r["inertia"], expected)


def test_a_union_the_kernel_cannot_make_is_refused_with_a_reason(doc, monkeypatch):
    from freecad_spatial.spatial_tools.geometry import mass

    def broken(solids):
        raise mass.UnionFailed("BOPAlgo failed")

    monkeypatch.setattr(mass, "fuse", broken)
    add_shape(doc, "Pair", Part.Compound([Part.makeBox(10, 10, 10), Part.makeBox(10, 10, 10, V(5, 0, 0))]))
    err = error(doc, "mass_properties", {"object": "Pair"})
    assert err["code"] == "not_applicable" and "overlap" in err["message"] and "BOPAlgo failed" in err["message"]
    add_shape(doc, "Apart", Part.Compound([Part.makeBox(10, 10, 10), Part.makeBox(10, 10, 10, V(50, 0, 0))]))
    assert ok(doc, "mass_properties", {"object": "Apart"})["volume"] == pytest.approx(2000)  # no union needed
