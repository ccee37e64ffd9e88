"""The bundled samples match their design numbers, build deterministically, and ``freecad-spatial
tour`` (the real console script) prints those numbers back, measured by the registry tools."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FreeCAD, Part

from freecad_spatial.spatial_tools import samples
from freecad_spatial.spatial_tools.documents import close_document, open_document

EXE = Path(sys.executable).with_name("freecad-spatial")
SAMPLE_FILES = {s.file: samples.SAMPLES_DIR / s.file for s in samples.SAMPLES}
B, P, H = samples.BRACKET, samples.PLATE, samples.HOUSING


def mm(value: float) -> str:
    return f"{value:.3f}"


# --- the files -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLE_FILES))
def test_sample_is_bundled_and_small(name):
    path = SAMPLE_FILES[name]
    assert path.is_file(), f"{path} missing: run python -m freecad_spatial.spatial_tools.samples"
    assert path.stat().st_size < 200 * 1024


@pytest.mark.parametrize(
    "sample, size",
    [
        (samples.SAMPLES[0], (B.length, B.width, B.height)),
        (samples.SAMPLES[1], (P.length, P.width, P.thickness)),
        (samples.SAMPLES[2], (H.length, H.width, H.height)),
    ],
    ids=lambda v: getattr(v, "file", ""),
)
def test_sample_geometry_matches_its_design(sample, size):
    document = open_document(SAMPLE_FILES[sample.file])
    try:
        shape = document.getObject(sample.object).Shape
        assert shape.isValid() and len(shape.Solids) == 1
        assert shape.Volume == pytest.approx(sample.design.volume(), rel=1e-9)
        box = shape.BoundBox
        assert (box.XLength, box.YLength, box.ZLength) == pytest.approx(size, abs=1e-6)
        assert (box.XMin, box.YMin, box.ZMin) == pytest.approx((0, 0, 0), abs=1e-6)
    finally:
        close_document(document)


def test_bracket_is_a_parametric_partdesign_body():
    document = open_document(SAMPLE_FILES["bracket.FCStd"])
    try:
        body = document.getObject("Body")
        assert body.TypeId == "PartDesign::Body" and body.Tip.Name == "CornerFillets"
        kinds = {o.Name: o.TypeId for o in body.Group}
        assert kinds["Base"] == kinds["Wall"] == "PartDesign::Pad"
        assert kinds["MountingHoles"] == kinds["BlindHole"] == "PartDesign::Hole"
        assert kinds["Pocket"] == "PartDesign::Pocket"
        assert kinds["InnerFillet"] == kinds["CornerFillets"] == "PartDesign::Fillet"
        holes = document.getObject("MountingHoles")
        assert holes.Diameter.Value == pytest.approx(B.through_diameter) and holes.DepthType == "ThroughAll"
        # Recomputing from the sketches reproduces the stored solid: the file is a live model.
        before = body.Shape.Volume
        for obj in document.Objects:
            obj.touch()
        document.recompute()
        assert body.Shape.Volume == pytest.approx(before, rel=1e-9)
        assert not [o.Name for o in document.Objects if "Invalid" in o.State or "Error" in o.State]
        # Each through hole is a Ø6.6 cylinder whose axis sits on the design pattern.
        walls = [f for f in body.Shape.Faces if type(f.Surface).__name__ == "Cylinder" and f.Surface.Radius == pytest.approx(B.through_diameter / 2)]
        centres = sorted((round(f.Surface.Center.x, 6), round(f.Surface.Center.y, 6)) for f in walls)
        assert centres == sorted(B.through_centres)
        assert B.pitch == 40.0
    finally:
        close_document(document)


def _comparable(path: Path) -> bytes | dict[str, bytes]:
    """The file's bytes; for an FCStd written with FreeCAD 1.x element maps, its entries with the
    object ids masked. Those ids come from a counter that differs from run to run, and 1.x writes
    them into its element maps (``;:H11a7``, StringHasher.Table.txt, *.Map.txt), where they cannot be
    renumbered: the maps are left out, every other entry must match byte for byte."""
    import zipfile

    if path.suffix != ".FCStd":
        return path.read_bytes()
    with zipfile.ZipFile(path) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    if b"<StringHasher" not in entries["Document.xml"]:
        return path.read_bytes()
    masked = {}
    for name, data in entries.items():
        if name == "StringHasher.Table.txt" or name.endswith(".Map.txt"):
            continue
        data = re.sub(rb';:H[0-9a-f]+', b";:H", data)
        masked[name] = re.sub(rb'(<Object type="[^"]+" name="[^"]+" id=")\d+', rb"\g<1>", data)
    return masked


def test_samples_build_deterministically(tmp_path):
    first = samples.build_all(tmp_path / "a")
    second = samples.build_all(tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        assert _comparable(a) == _comparable(b), f"{a.name} differs between two builds"
    # The rebuilt geometry is the bundled geometry.
    for built in first:
        shape = Part.read(str(built)) if built.suffix != ".FCStd" else None
        if shape is None:
            doc = FreeCAD.openDocument(str(built))
            shape = doc.getObject("Body").Shape
            FreeCAD.closeDocument(doc.Name)
        bundled = SAMPLE_FILES[built.name]
        other = Part.read(str(bundled)) if bundled.suffix != ".FCStd" else None
        if other is None:
            doc = FreeCAD.openDocument(str(bundled))
            other = doc.getObject("Body").Shape
            FreeCAD.closeDocument(doc.Name)
        assert shape.Volume == pytest.approx(other.Volume, rel=1e-12)
        assert len(shape.Faces) == len(other.Faces)


# --- the tour, as a user runs it ---------------------------------------------------


@pytest.fixture(scope="module")
def tour():
    proc = subprocess.run(
        [str(EXE), "tour", *map(str, SAMPLE_FILES.values())], capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    sections = {}
    for block in proc.stdout.strip().split("\n\n"):
        title, _, body = block.partition("\n")
        sections[title.strip()] = body
    assert set(sections) == set(SAMPLE_FILES), proc.stdout
    return sections


def number_after(text: str, label: str) -> float:
    match = re.search(re.escape(label) + r"\s*([0-9.]+)", text)
    assert match, f"no '{label}' in:\n{text}"
    return float(match.group(1))


def test_tour_reports_volume_and_size(tour):
    for name, sample in ((s.file, s) for s in samples.SAMPLES):
        text = tour[name]
        assert number_after(text, "volume") == pytest.approx(sample.design.volume(), abs=5e-4), text
    assert f"bbox {mm(B.length)} × {mm(B.width)} × {mm(B.height)} mm" in tour["bracket.FCStd"]
    assert f"bbox {mm(P.length)} × {mm(P.width)} × {mm(P.thickness)} mm" in tour["plate_with_holes.step"]
    assert f"bbox {mm(H.length)} × {mm(H.width)} × {mm(H.height)} mm" in tour["housing.brep"]


def test_tour_reports_wall_thickness(tour):
    # Bracket: thinnest under the blind hole; the pocket floor, the wall and the base plate follow.
    bracket = tour["bracket.FCStd"]
    assert number_after(bracket, "wall thickness") == pytest.approx(B.base_thickness - B.blind.depth, abs=5e-4)
    spread = bracket.split("through each planar face:")[1]
    for value in (B.base_thickness - B.pocket_depth, B.wall_thickness, B.base_thickness):
        assert mm(value) in spread, (value, spread)
    assert number_after(tour["plate_with_holes.step"], "wall thickness") == pytest.approx(P.thickness, abs=5e-4)
    assert number_after(tour["housing.brep"], "wall thickness") == pytest.approx(min(H.wall, H.floor), abs=5e-4)


def test_tour_reports_right_angles(tour):
    for text in tour.values():
        assert number_after(text, "angle") == pytest.approx(90.0, abs=1e-3), text


def test_tour_reports_features(tour):
    """Hole groups with their measured nearest centre distance, pockets and fillets (find_features)."""
    bracket, plate, housing = tour["bracket.FCStd"], tour["plate_with_holes.step"], tour["housing.brep"]
    assert f"4 holes Ø{mm(B.through_diameter)} through; centre distance {mm(B.pitch)} mm" in bracket, bracket
    assert f"1 hole Ø{mm(B.blind.diameter)} blind, {mm(B.blind.depth)} deep, flat bottom" in bracket, bracket
    assert f"{len(P.centres)} holes Ø{mm(P.hole_diameter)} through; centre distance {mm(P.pitch)} mm" in plate, plate
    (x0, y0), (x1, y1) = B.pocket_min, B.pocket_max
    assert f"pocket: {mm(x1 - x0)} wide, {mm(y1 - y0)} long, {mm(B.pocket_depth)} deep" in bracket, bracket
    assert f"fillets: R{mm(B.inner_fillet)}, {mm(B.length)} long; 2 × R{mm(B.corner_fillet)}, {mm(B.base_thickness)} long" in bracket
    px, py, pz = sorted(H.pocket[:2]) + [H.pocket[2]]
    assert f"pocket: {mm(px)} wide, {mm(py)} long, {mm(pz)} deep" in housing, housing
    assert "hole" not in housing, housing


def test_tour_goes_on_past_a_bad_file(tmp_path):
    empty = tmp_path / "empty.step"
    empty.write_text("")
    proc = subprocess.run(
        [str(EXE), "tour", str(tmp_path / "missing.FCStd"), str(empty), str(SAMPLE_FILES["housing.brep"])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "missing.FCStd: no such file" in proc.stderr
    assert "empty.step: the file is empty" in proc.stderr
    assert proc.stdout.startswith("housing.brep\n") and "volume 34500.000 mm³" in proc.stdout
