"""geometry.face_domain: the polygon inside test agrees with the kernel's classifier wherever it answers.

The kernel (``Face.isPartOfDomain``) is the oracle, on a plate with a round
and a square hole (analytic: points placed inside, in the holes and outside)
and on every planar face of a NIST model (points on a grid over each face's
parameter box).
"""

from pathlib import Path

import pytest
from conftest import Part, V

from freecad_spatial.spatial_tools.geometry.face_domain import PlaneDomain

NIST = Path(__file__).parent / "data" / "corpora" / "nist-pmi" / "step"


def test_plate_with_holes_inside_holes_and_outside():
    plate = Part.makeBox(100, 60, 10).cut(Part.makeCylinder(10, 10, V(30, 30, 0))).cut(Part.makeBox(20, 20, 10, V(60, 20, 0)))
    top = next(f for f in plate.Faces if abs(f.CenterOfMass.z - 10) < 1e-9 and f.Surface.Axis.z != 0)
    domain = PlaneDomain(top)
    surface = top.Surface

    def at(x, y):
        u, v = surface.parameter(V(x, y, 10))
        return domain.contains(u, v)

    assert at(5, 5) is True and at(95, 55) is True and at(50, 30) is True  # on the material
    assert at(30, 30) is False and at(30, 38) is False  # in the round hole (radius 10)
    assert at(70, 30) is False  # in the square hole
    assert at(-5, 30) is False and at(50, 70) is False  # off the plate
    assert at(30, 40) is None and at(100, 30) is None  # on an outline: the kernel decides
    assert at(30, 40.5) is True and at(30, 39.5) is False  # half a millimetre either side of the circle


@pytest.mark.parametrize("name", ["nist_ctc_01_asme1_ap242-e1.stp"])
def test_agrees_with_the_kernel_on_every_planar_face_of_a_nist_model(name):
    shape = Part.read(str(NIST / name))
    decided = asked = 0
    for face in shape.Faces:
        if type(face.Surface).__name__ != "Plane":
            continue
        domain = PlaneDomain(face)
        u0, u1, v0, v1 = face.ParameterRange
        for i in range(13):
            for j in range(13):
                u, v = u0 + (u1 - u0) * i / 12, v0 + (v1 - v0) * j / 12
                asked += 1
                answer = domain.contains(u, v)
                if answer is not None:
                    decided += 1
                    assert answer == face.isPartOfDomain(u, v), (face, u, v)
    assert asked > 1000 and decided > 0.6 * asked  # grid lines on the parameter box often lie on the outline
