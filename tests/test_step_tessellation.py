"""STEP files with a tessellated copy of the part read as their B-rep alone (documents.open_document).

OpenCASCADE 7.6 (FreeCAD 0.20) took 27 s over NIST ftc_11's 22,920-point
tessellation and 8.5 s over stc_08's; without it they read in 0.2 and 1.4 s
(bench/dfm_rules_time.py). The shape must be the very same B-rep.
"""

from pathlib import Path

import pytest
from conftest import Part

from freecad_spatial.spatial_tools.documents import close_document, open_document
from freecad_spatial.spatial_tools.step_tessellation import without_tessellation

NIST = Path(__file__).parent / "data" / "corpora" / "nist-pmi" / "step"

TESSELLATION = (
    b"#9001=COORDINATES_LIST('',3,((0.,0.,0.),(1.,0.,0.),(0.,1.,0.)));\n"
    b"#9002=COMPLEX_TRIANGULATED_SURFACE_SET('',#9001,3,((0.,0.,1.)),(),((1,2,3)),());\n"
    b"#9003=TESSELLATED_SHAPE_REPRESENTATION('mesh',(#9002),$);\n"
)
# Kept: its strings hold ';', a quote and what looks like a tessellated entity.
DECOY = b"#9004=DESCRIPTIVE_REPRESENTATION_ITEM('a;b','it''s;#9005=COORDINATES_LIST(x);');\n"


def test_only_the_tessellated_entities_are_dropped():
    head = b"ISO-10303-21;\nHEADER;\nFILE_NAME('x;y','',(''),(''),'','','');\nENDSEC;\nDATA;\n#1=CARTESIAN_POINT('',(0.,0.,0.));\n"
    tail = b"#2=DIRECTION('',(0.,0.,1.));\nENDSEC;\nEND-ISO-10303-21;\n"
    stripped = without_tessellation(head + TESSELLATION + DECOY + tail)
    assert stripped == head + DECOY + tail


def test_a_file_without_tessellation_is_left_alone():
    assert without_tessellation(b"ISO-10303-21;\nDATA;\n#1=CARTESIAN_POINT('',(0.,0.,0.));\nENDSEC;\n") is None


def test_a_box_with_a_tessellated_copy_opens_as_the_box(tmp_path):
    plain = tmp_path / "box.step"
    Part.makeBox(40, 30, 10).exportStep(str(plain))
    data = plain.read_bytes()
    cut = data.rindex(b"ENDSEC;")
    meshed = tmp_path / "box-meshed.step"
    meshed.write_bytes(data[:cut] + TESSELLATION + DECOY + data[cut:])
    document = open_document(meshed)
    try:
        shape = document.Objects[0].Shape
        assert len(document.Objects) == 1 and len(shape.Faces) == 6
        assert shape.Volume == pytest.approx(40 * 30 * 10) and shape.Area == pytest.approx(2 * (40 * 30 + 40 * 10 + 30 * 10))
    finally:
        close_document(document)


@pytest.mark.parametrize("name", ["nist_ctc_03_asme1_ap242-e2.stp", "nist_stc_08_asme1_ap242-e3.stp"])
def test_nist_models_open_as_the_same_brep(name):
    read = Part.read(str(NIST / name))
    solids = read.Solids  # what open_document keeps of it: the one solid, unless the file holds more
    original = solids[0] if len(solids) == 1 and len(read.Faces) == len(solids[0].Faces) else read
    document = open_document(NIST / name)
    try:
        shape = document.Objects[0].Shape
        assert len(shape.Faces) == len(original.Faces) and len(shape.Edges) == len(original.Edges)
        assert shape.Volume == pytest.approx(original.Volume, rel=1e-9)
        assert shape.Area == pytest.approx(original.Area, rel=1e-9)
        assert shape.isValid()
    finally:
        close_document(document)
