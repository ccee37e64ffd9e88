"""cnc.inaccessible_face's verdicts agree with rays sampled independently here: points stepped along
each ray and asked to the kernel one by one (``Shape.isInside``), not the code under test; the wall
the ray meets is the one measure_thickness's material_runs reports.

The Ø75 case of issue 16 is NIST CTC 02 (Faces 361/362 and 444/445): two blind Ø75 × 8 bores on one axis
along Y, in two uprights 730 mm apart, open towards each other. Modelled here with the same geometry:
each bore is hidden (along +Y the far bore's bottom is in the way, as the sampled rays confirm); with the
far bore drilled through, the near one is open along +Y and is not reported.
"""

from __future__ import annotations

import pytest
from conftest import FreeCAD, Part, add_shape

from freecad_spatial.spatial_tools.dfm.engine import run_dfm
from freecad_spatial.spatial_tools.dfm.rules import Target
from freecad_spatial.spatial_tools.geometry import thickness
from freecad_spatial.spatial_tools.geometry.visibility import GRAZING, Visibility, part_axes

V = FreeCAD.Vector
AXES = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]
STEP = 2.0  # mm between sampled points along a ray; every wall here is ≥ 8 mm thick
LIFT = 0.05  # mm off the face before the first sampled point


def _facing_bores(far_through: bool = False):
    """Two 120 × 25 × 120 uprights (y 0-25 and 755-780) on a 40 mm base, each with a Ø75 bore on the axis
    x 0, z -140 along Y, 8 deep: y 17-25 (bottom at 17) and y 755-763 (bottom at 763), as NIST CTC 02."""
    base = Part.makeBox(120, 780, 40, V(-60, 0, -240))
    near = Part.makeBox(120, 25, 120, V(-60, 0, -200))
    far = Part.makeBox(120, 25, 120, V(-60, 755, -200))
    part = base.fuse([near, far]).removeSplitter()
    part = part.cut(Part.makeCylinder(37.5, 8, V(0, 17, -140), V(0, 1, 0)))
    far_depth = 25 if far_through else 8
    return part.cut(Part.makeCylinder(37.5, far_depth, V(0, 755, -140), V(0, 1, 0)))


def _bore_faces(shape, y0, y1) -> set[int]:
    return {
        i for i, f in enumerate(shape.Faces)
        if "Cylinder" in type(f.Surface).__name__ and abs(f.Surface.Radius - 37.5) < 1e-6
        and f.BoundBox.YMin >= y0 - 1e-6 and f.BoundBox.YMax <= y1 + 1e-6
    }


def _sampled_ray_clear(solid, point, normal, direction) -> bool:
    """Independent: points every STEP mm along the ray, from just off the face to beyond the part, are all
    outside the solid (Shape.isInside, boundary counted as outside)."""
    d = V(*direction)
    start = point + normal * LIFT
    reach = solid.BoundBox.DiagonalLength + 1.0
    steps = int(reach / STEP)
    return not any(solid.isInside(start + d * (k * STEP), 1e-7, False) for k in range(1, steps + 1))


def _sampled_reach(solid, sample) -> bool:
    """Some axis direction the sample does not turn away from has a clear sampled ray."""
    return any(
        _sampled_ray_clear(solid, sample.point, sample.normal, d)
        for d in AXES
        if sample.normal.dot(V(*d)) >= -GRAZING
    )


def test_facing_blind_bores_are_hidden_and_sampled_rays_agree(doc):
    obj = add_shape(doc, "Uprights", _facing_bores())
    shape = obj.Shape
    solid = shape.Solids[0]
    findings = [f for f in run_dfm(doc, "cnc-3axis") if f.rule == "cnc.inaccessible_face"]
    reported = {int(e[4:]) - 1 for f in findings for e in f.elements}
    bores = _bore_faces(shape, 17, 25) | _bore_faces(shape, 755, 763)
    assert bores and bores <= reported
    vis = Visibility(shape)
    for face in vis.hidden_faces(part_axes(shape)):
        # The point the rule reports as confirmed is blocked along every axis, ray by sampled ray.
        u, v = shape.Faces[face.index].Surface.parameter(face.point)
        normal = shape.Faces[face.index].normalAt(u, v)
        for d in AXES:
            if normal.dot(V(*d)) >= -GRAZING:
                assert not _sampled_ray_clear(solid, face.point, normal, d), (face.index, d)
    # Along +Y the near bore's rays run 730 mm through air into the far bore and stop at its bottom.
    (near_face,) = sorted(_bore_faces(shape, 17, 25))[:1]
    sample = vis.face_samples[near_face][0]
    runs = thickness.material_runs(solid, sample.point + sample.normal * LIFT, V(0, 1, 0))
    ahead = [r for r in runs if r[0] > 0]
    assert ahead and sample.point.y + ahead[0][0] == pytest.approx(763.0, abs=1e-3)


def test_with_the_far_bore_through_the_near_one_is_open_along_plus_y(doc):
    obj = add_shape(doc, "Uprights", _facing_bores(far_through=True))
    shape = obj.Shape
    solid = shape.Solids[0]
    findings = [f for f in run_dfm(doc, "cnc-3axis") if f.rule == "cnc.inaccessible_face"]
    reported = {int(e[4:]) - 1 for f in findings for e in f.elements}
    near = _bore_faces(shape, 17, 25)
    assert near and not near & reported
    vis = Visibility(shape)
    for i in near:
        for sample in vis.face_samples[i]:
            assert _sampled_ray_clear(solid, sample.point, sample.normal, (0, 1, 0))


def test_every_verdict_on_a_t_cavity_matches_sampled_rays():
    """Face by face and sample by sample: reached by the rule exactly when some sampled ray is clear."""
    tool = Part.makeBox(10, 20, 10, V(25, 10, 20)).fuse(Part.makeBox(30, 20, 10, V(15, 10, 10)))
    shape = Part.makeBox(60, 40, 30).cut(tool)
    solid = shape.Solids[0]
    target = Target(obj=None, shape=shape)
    vis = Visibility(target.shape)
    reached, _, _ = vis.blockers(AXES)
    _, _, faces, _ = vis.samples
    row = 0
    for i, samples in enumerate(vis.face_samples):
        for sample in samples:
            assert int(faces[row]) == i
            assert bool(reached[row]) == _sampled_reach(solid, sample), (i, sample.point)
            row += 1
