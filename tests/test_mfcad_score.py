"""find_features reaches the claimed face-level F1 on the MFCAD sample (bench/feature_recognition.py).

Every MFCAD label is claimed (mfcad.LABEL_NAMES), so each must reach the
target; the recogniser is called through the registry, as the model calls it.
"""

from __future__ import annotations

import pytest
from conftest import CORPORA, REGISTRY

from freecad_spatial.spatial_tools import mfcad
from freecad_spatial.spatial_tools.context import ToolContext
from freecad_spatial.spatial_tools.documents import close_document, open_document

MFCAD = CORPORA / "mfcad"
TARGET_F1 = 0.95
CLAIMED = sorted(mfcad.LABEL_NAMES)

pytestmark = pytest.mark.skipif(not (MFCAD / "step").is_dir(), reason="MFCAD corpus not present")


def _run(path):
    doc = open_document(path)
    try:
        obj = doc.Objects[0]
        envelope = REGISTRY.call("find_features", {"object": obj.Name}, ToolContext(document=doc))
        assert envelope["ok"], envelope
        return envelope["result"]["features"], len(obj.Shape.Faces), 0.0
    finally:
        close_document(doc)


def test_claimed_classes_reach_the_target_f1():
    result = mfcad.score(MFCAD, _run)
    assert result["files"] == 30 and result["faces"] == 590
    below = {
        row["name"]: round(row["f1"], 3)
        for label, row in result["classes"].items()
        if label in CLAIMED and row["f1"] < TARGET_F1
    }
    assert not below, f"claimed classes below F1 {TARGET_F1}: {below}; errors: {result['errors'][:10]}"
    assert all(result["classes"][label]["support"] > 0 for label in CLAIMED)


def test_mfcad_class_of_records():
    assert mfcad.mfcad_class({"kind": "chamfer"}) == 0
    assert mfcad.mfcad_class({"kind": "pocket", "profile": "hexagonal", "through": True}) == 3
    assert mfcad.mfcad_class({"kind": "pocket", "profile": "hexagonal", "through": False}) == 11
    assert mfcad.mfcad_class({"kind": "step", "profile": "slanted", "through": True}) == 8
    assert mfcad.mfcad_class({"kind": "hole", "through": True}) == mfcad.UNRECOGNISED
