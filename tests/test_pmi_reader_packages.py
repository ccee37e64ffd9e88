"""The PMI reader's packages installed the way the GUI offers it: into their own folder, found by the reader's
child process with a Python that has no bindings of its own."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import CORPORA

from freecad_spatial.spatial_tools.gdt import pmi_import

CTC02 = CORPORA / "nist-pmi" / "step" / "nist_ctc_02_asme1_ap242-e2.stp"
REPO = Path(__file__).resolve().parent.parent


def _bare_python() -> str:
    """The interpreter this test's venv was made from: same version, no cadquery-ocp."""
    return getattr(sys, "_base_executable", None) or sys.executable


def test_the_requirements_are_the_pmi_extra_and_the_folder_is_freecad_spatials_own():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert pmi_import.reader_requirements() == extras["pmi"]
    folder = pmi_import.reader_packages_folder("/home/u/.local/share/FreeCAD")
    assert folder == Path("/home/u/.local/share/FreeCAD/FreeCADSpatial/pmi-reader")
    assert "AdditionalPythonPackages" not in str(folder)  # never on FreeCAD's own sys.path


def test_the_reader_runs_from_the_install_folder_with_a_python_lacking_the_bindings(tmp_path, monkeypatch):
    spec = importlib.util.find_spec("OCP")
    if spec is None or not CTC02.is_file():
        pytest.skip("needs cadquery-ocp and the NIST corpus")
    monkeypatch.setenv(pmi_import.PYTHON_ENV, _bare_python())
    monkeypatch.delenv("PYTHONPATH", raising=False)
    folder = tmp_path / "FreeCADSpatial" / "pmi-reader"
    monkeypatch.setattr(pmi_import, "reader_packages_folder", lambda: folder)
    assert pmi_import.reader_missing()  # the bare Python alone cannot read PMI
    with pytest.raises(pmi_import.PmiReaderMissing):
        pmi_import.run_reader(CTC02)
    # What pip --target leaves there: the bindings and their libraries (linked from this venv, 150 MB).
    folder.mkdir(parents=True)
    site = Path(spec.submodule_search_locations[0]).parent
    for entry in site.iterdir():
        if entry.name.lower().startswith(("ocp", "cadquery_ocp")):
            (folder / entry.name).symlink_to(entry)
    assert not pmi_import.reader_missing()
    pmi = pmi_import.run_reader(CTC02)
    assert pmi["file_length_unit"] == "mm"
    k1 = next(t for t in pmi["datum_targets"] if t["label"] == "K1")
    assert k1["shape"] == "circle" and k1["length"] == 85.0  # the file's #55 'target diameter' (mm)
