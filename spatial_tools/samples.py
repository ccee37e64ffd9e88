"""Builds the bundled sample parts in ``resources/samples/`` from their design numbers.

The samples are what ``freecad-spatial tour`` and the demo measure, so their
dimensions are known by construction (the constants below) and the tests
compare the tools' answers with these numbers. Building is deterministic: the
same FreeCAD gives byte-identical files (zip times, document ids and STEP
header dates are pinned), so regenerating never churns the repository.

    python -m freecad_spatial.spatial_tools.samples [OUT_DIR]
"""

from __future__ import annotations

import math
import re
import shutil
import sys
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from freecad_spatial import RESOURCES

from . import freecad_env

SAMPLES_DIR = RESOURCES / "samples"
FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)
FIXED_ISO_TIME = "2024-01-01T00:00:00Z"


@dataclass(frozen=True)
class Hole:
    x: float
    y: float
    diameter: float
    depth: float | None  # None: through


@dataclass(frozen=True)
class BracketDesign:
    """An L bracket: base plate, upright wall at the back, holes, a pocket and fillets."""

    length: float = 80.0  # X
    width: float = 70.0  # Y, base plate including the wall
    base_thickness: float = 8.0
    wall_thickness: float = 5.0  # the upright wall, Y from width - wall_thickness to width
    height: float = 40.0  # Z, top of the wall
    through_diameter: float = 6.6  # M6 clearance, medium (ISO 273)
    through_centres: tuple[tuple[float, float], ...] = ((20.0, 10.0), (60.0, 10.0), (20.0, 50.0), (60.0, 50.0))
    blind: Hole = Hole(40.0, 55.0, 5.0, 5.0)
    pocket_min: tuple[float, float] = (30.0, 20.0)
    pocket_max: tuple[float, float] = (50.0, 40.0)
    pocket_depth: float = 4.0
    inner_fillet: float = 3.0  # concave edge between base top and wall front
    corner_fillet: float = 5.0  # the two vertical front corners of the base

    @property
    def pitch(self) -> float:
        """Centre distance of neighbouring through holes (a square pattern)."""
        (x0, y0), (x1, y1) = self.through_centres[:2]
        return math.hypot(x1 - x0, y1 - y0)

    def volume(self) -> float:
        t, w = self.base_thickness, self.wall_thickness
        v = self.length * self.width * t + self.length * w * (self.height - t)
        v -= len(self.through_centres) * math.pi * (self.through_diameter / 2) ** 2 * t
        v -= math.pi * (self.blind.diameter / 2) ** 2 * self.blind.depth
        (px0, py0), (px1, py1) = self.pocket_min, self.pocket_max
        v -= (px1 - px0) * (py1 - py0) * self.pocket_depth
        r = self.inner_fillet
        v += (r * r - math.pi * r * r / 4) * self.length  # a concave fillet adds material
        r = self.corner_fillet
        v -= 2 * (r * r - math.pi * r * r / 4) * t  # a convex fillet removes it
        return v


@dataclass(frozen=True)
class PlateDesign:
    """A flat plate with a 3 × 2 grid of equal through holes."""

    length: float = 100.0
    width: float = 60.0
    thickness: float = 6.0
    hole_diameter: float = 8.0
    xs: tuple[float, ...] = (20.0, 50.0, 80.0)
    ys: tuple[float, ...] = (15.0, 45.0)

    @property
    def pitch(self) -> float:
        return self.xs[1] - self.xs[0]

    @property
    def centres(self) -> list[tuple[float, float]]:
        return [(x, y) for y in self.ys for x in self.xs]

    def volume(self) -> float:
        holes = len(self.centres) * math.pi * (self.hole_diameter / 2) ** 2 * self.thickness
        return self.length * self.width * self.thickness - holes


@dataclass(frozen=True)
class HousingDesign:
    """An open-top box: a block with a rectangular pocket leaving equal walls and a floor."""

    length: float = 60.0
    width: float = 40.0
    height: float = 30.0
    wall: float = 5.0
    floor: float = 5.0

    @property
    def pocket(self) -> tuple[float, float, float]:
        return (self.length - 2 * self.wall, self.width - 2 * self.wall, self.height - self.floor)

    def volume(self) -> float:
        px, py, pz = self.pocket
        return self.length * self.width * self.height - px * py * pz


BRACKET = BracketDesign()
PLATE = PlateDesign()
HOUSING = HousingDesign()


@dataclass
class Sample:
    file: str
    object: str  # the name a tool call uses for the part
    design: Any
    notes: list[str] = field(default_factory=list)


SAMPLES = [
    Sample("bracket.FCStd", "Body", BRACKET),
    Sample("plate_with_holes.step", "Part", PLATE),
    Sample("housing.brep", "Part", HOUSING),
]


# --- building ---------------------------------------------------------------


def xy_plane(body: Any) -> Any:
    """The body's XY origin plane, found by role (the order of OriginFeatures changed in 1.x)."""
    return next(f for f in body.Origin.OriginFeatures if f.Role == "XY_Plane")


def attach(sketch: Any, support: Any) -> None:
    """Attaches to ``support``: the property is ``Support`` on 0.20, ``AttachmentSupport`` on 1.x."""
    name = "AttachmentSupport" if "AttachmentSupport" in sketch.PropertiesList else "Support"
    setattr(sketch, name, (support, [""]))


def new_feature(body: Any, type_id: str, name: str) -> Any:
    """A PartDesign feature with Refine off, as 0.20 makes it: 1.x takes Refine from a user
    preference, and a refined solid has other faces."""
    feature = body.newObject(type_id, name)
    if "Refine" in feature.PropertiesList:
        feature.Refine = False
    return feature


def _sketch(body, name: str, z: float):
    """A sketch in the body's XY plane lifted to height ``z``."""
    app = freecad_env.load()
    sketch = body.newObject("Sketcher::SketchObject", name)
    attach(sketch, xy_plane(body))
    sketch.MapMode = "FlatFace"
    sketch.AttachmentOffset = app.Placement(app.Vector(0, 0, z), app.Rotation())
    return sketch


def _rectangle(sketch, x0: float, y0: float, x1: float, y1: float) -> None:
    app = freecad_env.load()
    import Part
    import Sketcher

    corners = [app.Vector(x0, y0, 0), app.Vector(x1, y0, 0), app.Vector(x1, y1, 0), app.Vector(x0, y1, 0)]
    first = sketch.GeometryCount
    for i in range(4):
        sketch.addGeometry(Part.LineSegment(corners[i], corners[(i + 1) % 4]), False)
    constraints = []
    for i in range(4):
        constraints.append(Sketcher.Constraint("Coincident", first + i, 2, first + (i + 1) % 4, 1))
    constraints += [
        Sketcher.Constraint("Horizontal", first),
        Sketcher.Constraint("Horizontal", first + 2),
        Sketcher.Constraint("Vertical", first + 1),
        Sketcher.Constraint("Vertical", first + 3),
    ]
    sketch.addConstraint(constraints)


def _circle(sketch, x: float, y: float, diameter: float) -> None:
    app = freecad_env.load()
    import Part
    import Sketcher

    index = sketch.addGeometry(Part.Circle(app.Vector(x, y, 0), app.Vector(0, 0, 1), diameter / 2), False)
    sketch.addConstraint(Sketcher.Constraint("Diameter", index, diameter))


def _edges_where(shape, predicate) -> list[str]:
    names = [f"Edge{i + 1}" for i, e in enumerate(shape.Edges) if predicate(e)]
    if not names:
        raise RuntimeError("sample build: no edge matched (FreeCAD changed its topology?)")
    return names


def _is_line(edge, a, b, tol: float = 1e-6) -> bool:
    if type(edge.Curve).__name__ not in ("Line", "LineSegment") or len(edge.Vertexes) != 2:
        return False
    p, q = (v.Point for v in edge.Vertexes)
    return ((p - a).Length < tol and (q - b).Length < tol) or ((p - b).Length < tol and (q - a).Length < tol)


def build_bracket(path: Path, design: BracketDesign = BRACKET) -> Path:
    """A PartDesign Body: padded base and wall, hole features, a pocket and two fillets."""
    app = freecad_env.load()
    import PartDesign  # noqa: F401 - registers the PartDesign types
    import Sketcher  # noqa: F401 - registers Sketcher::SketchObject

    V = app.Vector
    d = design
    doc = app.newDocument("Bracket")
    try:
        body = doc.addObject("PartDesign::Body", "Body")
        body.Label = "Bracket"

        s = _sketch(body, "BaseSketch", 0)
        _rectangle(s, 0, 0, d.length, d.width)
        pad = new_feature(body, "PartDesign::Pad", "Base")
        pad.Profile = s
        pad.Length = d.base_thickness

        s = _sketch(body, "WallSketch", 0)
        _rectangle(s, 0, d.width - d.wall_thickness, d.length, d.width)
        wall = new_feature(body, "PartDesign::Pad", "Wall")
        wall.Profile = s
        wall.Length = d.height

        s = _sketch(body, "MountingHoleSketch", d.base_thickness)
        for x, y in d.through_centres:
            _circle(s, x, y, d.through_diameter)
        doc.recompute()
        holes = new_feature(body, "PartDesign::Hole", "MountingHoles")
        holes.Profile = s
        holes.Diameter = d.through_diameter
        holes.DepthType = "ThroughAll"
        holes.Threaded = False

        s = _sketch(body, "BlindHoleSketch", d.base_thickness)
        _circle(s, d.blind.x, d.blind.y, d.blind.diameter)
        doc.recompute()
        blind = new_feature(body, "PartDesign::Hole", "BlindHole")
        blind.Profile = s
        blind.Diameter = d.blind.diameter
        blind.DepthType = "Dimension"
        blind.Depth = d.blind.depth
        blind.DrillPoint = "Flat"
        blind.Threaded = False

        s = _sketch(body, "PocketSketch", d.base_thickness)
        _rectangle(s, *d.pocket_min, *d.pocket_max)
        pocket = new_feature(body, "PartDesign::Pocket", "Pocket")
        pocket.Profile = s
        pocket.Length = d.pocket_depth
        doc.recompute()

        y_wall, t = d.width - d.wall_thickness, d.base_thickness
        inner = new_feature(body, "PartDesign::Fillet", "InnerFillet")
        inner.Base = (pocket, _edges_where(pocket.Shape, lambda e: _is_line(e, V(0, y_wall, t), V(d.length, y_wall, t))))
        inner.Radius = d.inner_fillet
        doc.recompute()
        corners = new_feature(body, "PartDesign::Fillet", "CornerFillets")
        corners.Base = (
            inner,
            _edges_where(
                inner.Shape,
                lambda e: _is_line(e, V(0, 0, 0), V(0, 0, t)) or _is_line(e, V(d.length, 0, 0), V(d.length, 0, t)),
            ),
        )
        corners.Radius = d.corner_fillet
        doc.recompute()

        broken = [o.Name for o in doc.Objects if "Invalid" in o.State or "Error" in o.State]
        if broken or not body.Shape.isValid():
            raise RuntimeError(f"sample build: bracket features failed: {broken}")
        # Show only the finished part when the GUI opens the file. A file saved
        # headless has no GuiDocument.xml, and without one the GUI hides everything.
        for obj in body.Group + [body.Origin, *body.Origin.OriginFeatures]:
            obj.Visibility = obj is body.Tip
        visibility = {obj.Name: bool(obj.Visibility) for obj in doc.Objects}
        gui_xml = _gui_document_xml(visibility, body.Shape.BoundBox)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Saving over a file leaves a backup (bracket.FCStd1) beside it: save anew
        # under the same name (FreeCAD labels the document after it), then move.
        with tempfile.TemporaryDirectory() as scratch:
            fresh = Path(scratch) / path.name
            doc.saveAs(str(fresh))
            _normalise_fcstd(fresh, gui_xml)
            shutil.move(fresh, path)
    finally:
        app.closeDocument(doc.Name)
    return path


def plate_shape(design: PlateDesign = PLATE):
    app = freecad_env.load()
    import Part

    d = design
    shape = Part.makeBox(d.length, d.width, d.thickness)
    for x, y in d.centres:
        shape = shape.cut(Part.makeCylinder(d.hole_diameter / 2, d.thickness, app.Vector(x, y, 0)))
    return shape.removeSplitter()


def housing_shape(design: HousingDesign = HOUSING):
    app = freecad_env.load()
    import Part

    d = design
    px, py, pz = d.pocket
    block = Part.makeBox(d.length, d.width, d.height)
    pocket = Part.makeBox(px, py, pz, app.Vector(d.wall, d.wall, d.floor))
    return block.cut(pocket).removeSplitter()


def build_plate(path: Path, design: PlateDesign = PLATE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    plate_shape(design).exportStep(str(path))
    _normalise_step(path)
    return path


def build_housing(path: Path, design: HousingDesign = HOUSING) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    housing_shape(design).exportBrep(str(path))
    return path


BUILDERS = {
    "bracket.FCStd": build_bracket,
    "plate_with_holes.step": build_plate,
    "housing.brep": build_housing,
}


def build_all(out_dir: Path = SAMPLES_DIR) -> list[Path]:
    """Writes every sample into ``out_dir`` and returns their paths."""
    return [build(Path(out_dir) / name) for name, build in BUILDERS.items()]


# --- determinism ------------------------------------------------------------


def _string_property(names: str) -> str:
    return rf'(<Property name="(?:{names})" type="App::PropertyString"[^>]*>\s*<String value=")[^"]*'


def _pin_document_xml(text: str, uid: str) -> str:
    """Document.xml with the clock, the user and the random ids replaced by fixed values."""
    text = re.sub(r'(<Property name="Uid" type="App::PropertyUUID"[^>]*>\s*<Uuid value=")[^"]*', rf"\g<1>{uid}", text)
    text = re.sub(_string_property("CreationDate|LastModifiedDate"), rf"\g<1>{FIXED_ISO_TIME}", text)
    text = re.sub(_string_property("CreatedBy|LastModifiedBy"), r"\g<1>", text)
    if "<StringHasher" in text:
        return text  # FreeCAD 1.x writes the ids into its element maps too: renumbering would break them
    # Object ids come from a process-wide counter: number them from 1 in file order.
    ids = iter(range(1, 1_000_000))
    return re.sub(r'(<Object type="[^"]+" name="[^"]+" id=")\d+', lambda m: f"{m.group(1)}{next(ids)}", text)


# FreeCAD's isometric view (Std_ViewIsometric) as an Inventor axis-angle, looking along (-1, 1, -1).
ISOMETRIC = "0.74290609 0.30772209 0.59447283  1.2171158"


def _gui_document_xml(visibility: dict[str, bool], box) -> str:
    """The part of GuiDocument.xml the GUI needs: what is shown, and an isometric camera fitted to ``box``."""
    diagonal = box.DiagonalLength
    focal = diagonal / 2
    c, k = box.Center, focal / math.sqrt(3)
    position = (c.x + k, c.y - k, c.z + k)
    camera = "&#10;".join(
        [
            "OrthographicCamera {",
            "  viewportMapping ADJUST_CAMERA",
            "  position {:.6f} {:.6f} {:.6f}".format(*position),
            f"  orientation {ISOMETRIC}",
            f"  nearDistance {focal - diagonal:.6f}",
            f"  farDistance {focal + diagonal:.6f}",
            "  aspectRatio 1",
            f"  focalDistance {focal:.6f}",
            f"  height {diagonal * 1.05:.6f}",
            "}",
            "",
        ]
    )
    lines = ["<?xml version='1.0' encoding='utf-8'?>", '<Document SchemaVersion="1">', f'    <ViewProviderData Count="{len(visibility)}">']
    for name, shown in visibility.items():
        lines += [
            f'        <ViewProvider name="{name}" expanded="0">',
            '            <Properties Count="1" TransientCount="0">',
            '                <Property name="Visibility" type="App::PropertyBool" status="1">',
            f'                    <Bool value="{"true" if shown else "false"}"/>',
            "                </Property>",
            "            </Properties>",
            "        </ViewProvider>",
        ]
    lines += ["    </ViewProviderData>", f'    <Camera settings="{camera}"/>', "</Document>", ""]
    return "\n".join(lines)


def _normalise_fcstd(path: Path, gui_xml: str | None = None) -> None:
    """Pins what FreeCAD stamps with the clock or a random id, adds ``gui_xml``, recompresses at level 9."""
    # A stable id per sample (not all zeros: FreeCAD names temp folders after it).
    uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"freecad-spatial/samples/{path.name}"))
    with zipfile.ZipFile(path) as zin:
        entries = [(info.filename, zin.read(info.filename)) for info in zin.infolist()]
    if gui_xml is not None:
        entries = [e for e in entries if e[0] != "GuiDocument.xml"] + [("GuiDocument.xml", gui_xml.encode("utf-8"))]
    with zipfile.ZipFile(path, "w") as zout:
        for name, data in entries:
            if name == "Document.xml":
                data = _pin_document_xml(data.decode("utf-8"), uid).encode("utf-8")
            info = zipfile.ZipInfo(name, FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data, compresslevel=9)


def _normalise_step(path: Path) -> None:
    """STEP headers carry the export time, the user's name and a counter: pin them."""
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    text = re.sub(
        r"FILE_NAME\('([^']*)','[^']*',\(\s*'[^']*'\s*\),\(\s*'[^']*'\s*\)",
        lambda m: f"FILE_NAME('{Path(m.group(1)).name}','{FIXED_ISO_TIME[:-1]}',('FreeCAD Spatial samples'),('')",
        text,
        count=1,
    )
    # OCC numbers the product after how many exports the process made: name it after the file.
    text = re.sub(r"'Open CASCADE STEP translator [^']*'", f"'{path.stem}'", text)
    path.write_text(text, encoding="utf-8", errors="surrogateescape")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else SAMPLES_DIR
    for written in build_all(out):
        print(f"{written} ({written.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
