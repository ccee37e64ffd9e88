"""freecad-spatial synth: every answer re-derived by the tools on the sample's STEP, analytic checks against
the constructed parameters, images and id maps that agree, determinism across --jobs, resume, the JSON
lines the datasets loader reads, the fine-tuning exports, a user's family module."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import FreeCAD  # noqa: F401 - FreeCAD loaded first

from freecad_spatial.spatial_tools.cli import main
from freecad_spatial.spatial_tools.documents import close_document, open_document
from freecad_spatial.spatial_tools.gdt.validation.model import read_gdt
from freecad_spatial.spatial_tools.render import png
from freecad_spatial.spatial_tools.render.view import config as render_config
from freecad_spatial.spatial_tools.render.view import decode_id_map
from freecad_spatial.spatial_tools.synth.export import export
from freecad_spatial.spatial_tools.synth.families import hole_centres
from freecad_spatial.spatial_tools.synth.generate import Run, generate
from freecad_spatial.spatial_tools.synth.qa import PMI, call, extract, same

RUN = Run(families=("plate_holes", "l_bracket", "plate_stack"), count=6, seed=7, views=("iso", "front", "top"))


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "ds"
    summary = generate(out, RUN, jobs=1)
    assert summary["failed"] == {} and summary["samples"] == 6 and summary["generated"] == 6
    return out


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]


def test_every_answer_is_rederived_by_the_tools_on_the_step(batch):
    rows = records(batch)
    assert [r["family"] for r in rows] == ["plate_holes", "l_bracket", "plate_stack"] * 2
    checked = 0
    for row in rows:
        document = open_document(batch / row["step"])
        pmi = open_document(batch / row["pmi"]) if row["pmi"] else None  # GD&T items: the saved annotations
        try:
            for item in row["qa"]:
                result = call(pmi if item["tool"] == PMI else document, item["tool"], json.loads(item["arguments_json"]))
                expected = json.loads(item["value_json"])
                assert same(extract(result, item["path"]), expected, item["tolerance"]), (row["id"], item)
                checked += 1
        finally:
            close_document(document)
            if pmi is not None:
                close_document(pmi)
    assert checked >= 40


def test_gdt_pairs_come_from_the_annotation_objects_of_the_saved_document(batch):
    """datum A and the position frame: annotation objects in part.FCStd (a PMI-carrying part), on the
    constructed faces: A on the largest planar face, the frame on every hole of the pattern."""
    framed = 0
    for row in records(batch):
        if row["kind"] != "part":
            assert row["pmi"] is None
            continue
        qa = {item["kind"]: item for item in row["qa"]}
        assert qa["datum_a"]["tool"] == PMI
        document = open_document(batch / row["pmi"])
        try:
            gdt = read_gdt(document)
            datum = next(d for d in gdt.datums if d.letter == "A")
            assert datum.faces.refs == json.loads(qa["datum_a"]["value_json"])
            shape = document.getObject(datum.faces.object).Shape
            planar = [f for f in shape.Faces if f.Surface.__class__.__name__ == "Plane"]
            (face,) = [shape.getElement(e) for e in datum.faces.elements]
            assert face.Area == pytest.approx(max(f.Area for f in planar), rel=1e-12)
            frames = [f for f in gdt.frames if f.characteristic == "position"]
            if "frame_faces" not in qa:  # suggest_gdt proposed no position frame for this pattern
                assert not frames
                continue
            framed += 1
            frame = frames[0]
            assert qa["frame_faces"]["tool"] == PMI
            assert frame.faces.refs == json.loads(qa["frame_faces"]["value_json"])
            assert "A" in frame.datum_letters
            p = json.loads(row["params_json"])
            holes = [shape.getElement(e) for e in frame.faces.elements]
            assert len(holes) == p["nx"] * p["ny"]
            assert all(h.Surface.__class__.__name__ == "Cylinder" and h.Surface.Radius == pytest.approx(p["hole_d"] / 2)
                       for h in holes)
        finally:
            close_document(document)
    assert framed >= 2


def test_answers_match_the_constructed_parts(batch):
    """Analytic: sizes, hole counts and spacings, stack heights from the parameters each part was built with."""
    for row in records(batch):
        p = json.loads(row["params_json"])
        qa = {}
        for item in row["qa"]:
            qa.setdefault(item["kind"], []).append(json.loads(item["value_json"]))
        if row["family"] == "plate_stack":
            total = sum(p["thicknesses"])
            assert qa["stack_nominal"][0] == pytest.approx(total, abs=1e-9)
            # ISO 2768-m: ±0.1 over 3-6 mm, ±0.2 over 6-30 mm, per plate.
            tol = [0.1 if t <= 6 else 0.2 for t in p["thicknesses"]]
            assert qa["stack_worst_case"][0] == pytest.approx({"min": total - sum(tol), "max": total + sum(tol)})
            assert qa["stack_rss"][0] == pytest.approx(math.sqrt(sum(t * t for t in tol)))
            assert sorted(qa["size"]) == pytest.approx(sorted(p["thicknesses"]))
            continue
        height = max(p["t"], p.get("wall_h", 0))
        depth = p["h"] + p.get("wall_t", 0)
        assert qa["size"] == pytest.approx([p["w"], depth, height])
        assert qa["hole_count"] == [p["nx"] * p["ny"]]
        assert qa["hole_diameter"][0] == pytest.approx(p["hole_d"])
        if p["nx"] * p["ny"] >= 2:
            distances = [math.dist(a, b) for a, b in itertools.combinations(hole_centres(p), 2)]
            assert min(abs(qa["hole_spacing"][0] - d) for d in distances) < 1e-9
        box = p["w"] * p["h"] * p["t"] + p.get("wall_t", 0) * p.get("wall_h", 0) * p["w"]
        holes = p["nx"] * p["ny"] * math.pi * (p["hole_d"] / 2) ** 2 * p["t"]
        assert qa["volume"][0] == pytest.approx(box - holes, rel=1e-9)


def test_images_are_not_blank_and_id_maps_agree_with_them(batch):
    grey = np.asarray(render_config()["colours"]["part"], float)
    for row in records(batch):
        refs = json.loads((batch / row["refs"]).read_text())
        for view in row["views"]:
            rgb = png.decode((batch / view["image"]).read_bytes())
            ids = decode_id_map((batch / view["id_map"]).read_bytes())
            assert rgb.shape[:2] == ids.shape == (288, 384)
            assert hashlib.sha256((batch / view["image"]).read_bytes()).hexdigest() == view["sha256"]
            covered = ids >= 0
            assert 0.05 < covered.mean() < 0.95, "the part fills a fair share of the picture"
            assert ids.max() < len(refs)
            # Where the id map has a face, the render shows the shaded part (grey, never background white)
            # or an edge line; where it has none, the background or an outline.
            assert not (rgb[covered] == 255).all(axis=1).any()
            hue = rgb[covered].astype(float)
            greyish = np.abs(hue / np.maximum(hue.sum(axis=1, keepdims=True), 1) - grey / grey.sum()).max(axis=1) < 0.02
            assert greyish.mean() > 0.8
            background = (rgb[~covered] == 255).all(axis=1)
            assert background.mean() > 0.9


def test_same_seed_same_bytes_with_two_jobs_and_resume(batch, tmp_path):
    other = tmp_path / "ds2"
    summary = generate(other, RUN, jobs=2)
    assert summary["samples"] == 6
    assert (other / "samples.jsonl").read_bytes() == (batch / "samples.jsonl").read_bytes()
    for rel in ("samples/plate_stack-000002/part.step", "samples/l_bracket-000004/iso.png",
                "samples/plate_holes-000003/top.ids.png", "samples/l_bracket-000001/scene.json"):
        assert (other / rel).read_bytes() == (batch / rel).read_bytes(), rel
    # Resume: a run stopped while writing sample 4 (no record, a missing picture) redoes only that one.
    (other / "samples/l_bracket-000004/record.json").unlink()
    (other / "samples/l_bracket-000004/iso.png").unlink()
    again = generate(other, RUN, jobs=1)
    assert (again["generated"], again["resumed"]) == (1, 5)
    assert (other / "samples.jsonl").read_bytes() == (batch / "samples.jsonl").read_bytes()
    with pytest.raises(ValueError, match="other settings"):
        generate(other, Run(families=("plate_holes",), count=6, seed=8, views=("iso",)))


def _signature(value):
    """The Arrow type a JSON value asks for (None fits any): rows must agree for datasets' json loader."""
    if isinstance(value, dict):
        return {k: _signature(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        inner = [_signature(v) for v in value if v is not None]
        merged = None
        for s in inner:
            merged = _merge(merged, s)
        return [merged]
    return None if value is None else type(value).__name__.replace("int", "float")


def _merge(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        assert set(a) == set(b), (set(a) ^ set(b))
        return {k: _merge(a[k], b[k]) for k in a}
    if isinstance(a, list) and isinstance(b, list):
        return [_merge(a[0], b[0])]
    assert a == b, (a, b)
    return a


def test_jsonl_has_one_schema_and_loads_with_datasets(batch):
    rows = records(batch)
    merged = None
    for row in rows:
        merged = _merge(merged, _signature(row))
    assert merged["messages"][0]["content"][0] == {"image": "str", "text": "str", "type": "str"}
    try:
        import datasets
    except ImportError:
        pytest.skip("datasets is not installed (pip install 'freecad-spatial[synth]'): the schema check above ran")
    loaded = datasets.load_dataset("json", data_files=str(batch / "samples.jsonl"), split="train",
                                   cache_dir=str(batch.parent / "hf-cache"))
    assert len(loaded) == 6 and loaded[0]["id"] == rows[0]["id"]
    assert loaded[2]["qa"][0]["answer"] == rows[2]["qa"][0]["answer"]
    assert loaded[0]["messages"][1]["content"][0]["image"] == rows[0]["images"][0]


def test_exports_to_the_fine_tuning_formats(batch, tmp_path):
    n = export(batch, "anthropic", tmp_path / "a.jsonl")
    first = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[0])
    assert n == 6 and first["system"] and [m["role"] for m in first["messages"][:2]] == ["user", "assistant"]
    image = first["messages"][0]["content"][0]
    assert image["type"] == "image" and base64.b64decode(image["source"]["data"]).startswith(b"\x89PNG")
    export(batch, "openai", tmp_path / "o.jsonl")
    first = json.loads((tmp_path / "o.jsonl").read_text().splitlines()[0])
    assert first["messages"][0]["role"] == "system" and isinstance(first["messages"][2]["content"], str)
    assert first["messages"][1]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    export(batch, "hf", tmp_path / "h.jsonl")
    first = json.loads((tmp_path / "h.jsonl").read_text().splitlines()[0])
    assert all(Path(p).exists() for p in first["images"]) and len(first["images"]) == 3


def test_dataset_card_says_what_the_labels_are(batch):
    card = (batch / "README.md").read_text()
    assert "license: cc0-1.0" in card and "--seed 7" in card and "plate_stack: 2 samples" in card
    assert "stack_worst_case (2): stack_up" in card and "datum_a (4): pmi" in card
    assert "needs model weights and a GPU" in card


def test_cli_with_a_users_family_module_and_export(tmp_path, capsys):
    module = tmp_path / "discs.py"
    module.write_text(
        "class Disc:\n"
        "    name = 'disc'\n    kind = 'part'\n"
        "    def sample(self, rng):\n        return {'d': rng.choice([20.0, 30.0]), 't': 5.0}\n"
        "    def script(self, p):\n"
        "        return f\"solids = [Part.makeCylinder({p['d'] / 2!r}, {p['t']!r})]\\n\"\n"
        "FAMILIES = [Disc()]\n")
    out = tmp_path / "discs"
    assert main(["synth", "--families", "disc", "--family-module", str(module), "--count", "2", "--seed", "1",
                 "--views", "iso", "--out", str(out)]) == 0
    row = records(out)[0]
    d = json.loads(row["params_json"])["d"]
    sizes = [json.loads(q["value_json"]) for q in row["qa"] if q["kind"] == "size"]
    assert sizes == pytest.approx([d, d, 5.0])
    assert main(["synth", "export", str(out), "--format", "openai"]) == 0
    assert (out / "openai.jsonl").exists()
    assert main(["synth", "--families", "nosuch", "--count", "1", "--out", str(tmp_path / "x")]) == 2
    assert "unknown family nosuch" in capsys.readouterr().err
    shutil.rmtree(out)
