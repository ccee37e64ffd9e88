"""``freecad-spatial check ... --annotate OUT.FCStd`` writes the checked document with its findings as objects."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO, FreeCAD

from freecad_spatial.spatial_tools.annotations import store

SAMPLES = REPO / "resources" / "samples"


def check(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "freecad_spatial.spatial_tools.cli", "check", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_annotate_writes_the_findings_a_designer_opens(tmp_path):
    out = tmp_path / "bracket-checked.FCStd"
    proc = check(str(SAMPLES / "bracket.FCStd"), "--process", "cnc-3axis", "--annotate", str(out))
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    (entry,) = report["files"]
    assert entry["annotated"] == str(out) and out.is_file()
    assert entry["findings"], "the sample bracket has findings for cnc-3axis"
    store.import_proxies()
    doc = FreeCAD.openDocument(str(out))
    try:
        held = store.read_findings(doc)
        assert [h.finding.to_dict() for h in held] == entry["findings"]
        assert all(h.status == "open" and h.process == "cnc-3axis" and h.attachment == "attached" for h in held)
        assert {o.Name for o in doc.getObject("Spatial").Group} == {h.name for h in held}
        assert all(type(o.Proxy).__name__ == "FindingProxy" for o in store.annotations(doc))
        # The part itself is untouched: same objects as the input plus the group and findings.
        assert doc.getObject("Body") is not None
    finally:
        FreeCAD.closeDocument(doc.Name)


def test_annotate_several_files_into_a_folder_and_refuse_bad_targets(tmp_path):
    inputs = [str(SAMPLES / "bracket.FCStd"), str(SAMPLES / "plate_with_holes.step")]
    proc = check(*inputs, "--process", "cnc-3axis", "--annotate", str(tmp_path))
    assert proc.returncode in (0, 1), proc.stderr
    assert sorted(p.name for p in tmp_path.glob("*.FCStd")) == ["bracket.FCStd", "plate_with_holes.FCStd"]
    bad = check(*inputs, "--process", "cnc-3axis", "--annotate", str(tmp_path / "one.FCStd"))
    assert bad.returncode == 2 and "give an existing folder" in bad.stderr
    same = check(inputs[0], "--process", "cnc-3axis", "--annotate", inputs[0])
    assert same.returncode == 2 and "overwrite an input" in same.stderr
