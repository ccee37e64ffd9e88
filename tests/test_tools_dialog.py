"""The Spatial tools dialog under pytest-qt (PySide6, offscreen): every registered tool with its full
description and its arguments (type, required), a filter, and the schema copied as JSON."""

from __future__ import annotations

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["FREECAD_SPATIAL_QT"] = "pyside6"

import pytest  # noqa: E402
from conftest import REGISTRY  # noqa: E402

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtGui  # noqa: E402

from freecad_spatial.panels.tools_dialog import ToolsDialog, argument_rows  # noqa: E402


@pytest.fixture
def dialog(qtbot):
    d = ToolsDialog(REGISTRY.specs())
    qtbot.addWidget(d)
    d.show()
    return d


def _tool_item(dialog, name):
    tree = dialog.tree
    return next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount()) if tree.topLevelItem(i).text(0) == name)


def test_every_tool_is_listed_with_its_arguments(dialog):
    assert not dialog.isModal()
    assert dialog.visible_tools() == [spec.name for spec in REGISTRY.specs()]
    item = _tool_item(dialog, "measure_distance")
    spec = REGISTRY.get("measure_distance")
    assert item.text(2) == spec.description.strip().splitlines()[0]
    children = [[item.child(i).text(c) for c in range(3)] for i in range(item.childCount())]
    assert [c[0] for c in children] == ["a *", "b *"]  # both required
    assert children[0][2] == spec.input_schema["properties"]["a"]["description"]
    assert "string" in children[0][1]  # anyOf: a reference string or a point
    # Optional arguments carry no star; enums list their values.
    features = [[_tool_item(dialog, "find_features").child(i).text(c) for c in range(2)]
                for i in range(_tool_item(dialog, "find_features").childCount())]
    kind = next(row for row in features if row[0].startswith("kind"))
    assert kind[1].startswith("one of ") and "hole" in kind[1]


def test_the_selected_tool_shows_its_full_description_and_copies_its_schema(dialog):
    dialog.tree.setCurrentItem(_tool_item(dialog, "run_dfm"))
    spec = REGISTRY.get("run_dfm")
    text = dialog.details.toPlainText()
    last_line = spec.description.strip().splitlines()[-1].strip()
    assert "run_dfm" in text and last_line in text  # the whole description, not its first line
    for name, _, _, _ in argument_rows(spec):
        assert name in text
    dialog.copy_button.click()
    assert json.loads(QtGui.QGuiApplication.clipboard().text()) == json.loads(json.dumps(spec.full()))
    # An argument row selects its tool.
    dialog.tree.setCurrentItem(_tool_item(dialog, "fit").child(0))
    assert dialog.current_spec().name == "fit" and "fit" in dialog.details.toPlainText()


def test_the_filter_narrows_the_list(qtbot, dialog):
    qtbot.keyClicks(dialog.filter, "thickness")
    shown = dialog.visible_tools()
    assert "measure_thickness" in shown and "fit" not in shown and shown
    dialog.filter.clear()
    assert len(dialog.visible_tools()) == len(REGISTRY.specs())
