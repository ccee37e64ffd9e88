"""package.xml and metadata.txt: what the Addon Manager and FreeCAD read to install and load the addon."""

import re
import tomllib
import xml.etree.ElementTree as ET

import pytest
from conftest import REPO, FreeCAD

NS = {"p": "https://wiki.freecad.org/Package_Metadata"}
PACKAGE = REPO / "package.xml"


@pytest.fixture(scope="module")
def root():
    tree = ET.parse(PACKAGE)
    element = tree.getroot()
    assert element.tag == f"{{{NS['p']}}}package", "package.xml must use the Package_Metadata namespace"
    assert element.get("format") == "1"
    return element


@pytest.fixture(scope="module")
def workbench(root):
    found = root.findall("p:content/p:workbench", NS)
    assert len(found) == 1, "exactly one workbench entry"
    return found[0]


@pytest.fixture(scope="module")
def metadata():
    return FreeCAD.Metadata(str(PACKAGE))


def text(element, path: str) -> str:
    found = element.find(path, NS)
    assert found is not None, f"package.xml has no <{path}>"
    return (found.text or "").strip()


def pyproject() -> dict:
    with open(REPO / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def test_identity(root, metadata):
    assert text(root, "p:name") == metadata.Name == "FreeCAD Spatial"
    assert len(text(root, "p:description")) > 40 and metadata.Description == text(root, "p:description")
    from freecad_spatial import __version__

    assert text(root, "p:version") == metadata.Version == __version__ == pyproject()["project"]["version"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", text(root, "p:date"))


def test_maintainer_and_licence(root, metadata):
    maintainer = root.find("p:maintainer", NS)
    assert maintainer is not None and maintainer.text.strip()
    assert re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", maintainer.get("email", ""))
    assert metadata.Maintainer[0]["email"] == maintainer.get("email")
    licence = root.find("p:license", NS)
    assert licence.text.strip() == "LGPL-2.1-or-later" == pyproject()["project"]["license"]
    assert metadata.License == [{"name": "LGPL-2.1-or-later", "file": "LICENSE"}]
    licence_file = REPO / licence.get("file")
    assert licence_file.is_file()
    head = licence_file.read_text()[:2000]
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in head and "Version 2.1" in head


def test_urls(root, metadata):
    urls = {u.get("type"): u for u in root.findall("p:url", NS)}
    repository = urls.get("repository")
    assert repository is not None, "the Addon Manager installs from the repository URL"
    assert re.fullmatch(r"https://[\w.-]+/[\w.-]+/[\w.-]+", repository.text.strip())
    assert repository.get("branch") == "main"
    assert {"repository", "bugtracker", "readme"} <= set(urls)
    assert {u["type"] for u in metadata.Urls} == set(urls)


def test_package_icon_exists_and_is_svg(root, metadata):
    icon = REPO / text(root, "p:icon")
    assert icon.is_file() and metadata.Icon == text(root, "p:icon")
    assert ET.parse(icon).getroot().tag.endswith("svg")


def test_workbench_entry(workbench, metadata):
    assert text(workbench, "p:classname") == "FreeCADSpatialWorkbench"
    sub = REPO / text(workbench, "p:subdirectory")
    assert sub.is_dir(), "0.20 runs Init.py/InitGui.py only from <subdirectory>"
    assert (sub / "Init.py").is_file() and (sub / "InitGui.py").is_file()
    assert "class FreeCADSpatialWorkbench(" in (sub / "InitGui.py").read_text()
    icon = (sub / text(workbench, "p:icon")).resolve()  # relative to the subdirectory
    assert icon.is_file(), f"workbench icon {icon} does not exist"
    entry = metadata.Content["workbench"][0]
    assert (entry.Classname, entry.Subdirectory) == ("FreeCADSpatialWorkbench", text(workbench, "p:subdirectory"))


def test_supports_freecad_0_20(root, workbench, metadata):
    assert text(root, "p:freecadmin").startswith("0.20")
    assert text(workbench, "p:freecadmin").startswith("0.20")
    assert metadata.FreeCADMin.startswith("0.20")
    assert metadata.supportsCurrentFreeCAD()


def metadata_txt() -> dict[str, list[str]]:
    entries = {}
    for line in (REPO / "metadata.txt").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            entries[key.strip()] = [v.strip() for v in value.split(",") if v.strip()]
    return entries


def requirements() -> list[str]:
    """resources/assistant-requirements.txt: the one list of packages the in-app installer brings."""
    lines = (REPO / "resources" / "assistant-requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_no_python_package_the_addon_manager_would_require(root, metadata):
    """FreeCAD 0.20's Addon Manager reads every <depend> in package.xml, optional="true" or not, as a
    required Python package and refuses the install when it is not on its allow-list; metadata.txt's
    ``pylibs`` and a root requirements.txt are required on every version. So none of those: the
    packages are optional, in metadata.txt (tests/test_addon_install.py runs each version's own check)."""
    assert root.findall(".//p:depend", NS) == [], "no <depend> anywhere in package.xml"
    assert list(metadata.Depend) == []
    assert not (REPO / "requirements.txt").exists()
    txt = metadata_txt()
    assert txt.get("pylibs") == [] and txt.get("workbenches") == []


def test_one_list_of_python_packages():
    """The in-app installer's list (resources/assistant-requirements.txt) is what pip installs with the
    `assistant` extra (jinja2 included, a core dependency) and what metadata.txt names as optional."""
    wanted = requirements()
    names = [re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0] for req in wanted]
    assert "jinja2" in names
    project = pyproject()["project"]
    assert sorted(wanted) == sorted(project["dependencies"] + project["optional-dependencies"]["assistant"])
    assert metadata_txt()["optionalpylibs"] == names


# Imported by the workbench but brought by FreeCAD itself (its modules, its Qt binding, Coin, numpy), or
# by the `pmi` extra, whose reader runs in a child process and says how to install it when absent.
FROM_FREECAD = {"FreeCAD", "FreeCADGui", "Part", "PartDesign", "Sketcher", "MeshPart", "Mesh", "PySide", "PySide2",
                "PySide6", "pivy", "numpy"}
FROM_PMI_EXTRA = {"OCP"}
FROM_EVAL_EXTRA = {"matplotlib"}  # `eval` extra: the report's chart (imported lazily)
FROM_CADQUERY_VENV = {"cadquery"}  # eval/cadquery_runner.py runs in .venv-cadquery (./setup.sh cadquery)
FROM_DASK_EXTRA = {"distributed"}  # `dask` extra: check --scheduler only (imported when it is given)


def third_party_imports() -> dict[str, set[str]]:
    """Top-level module -> files, for every absolute import in the addon's code outside the standard library."""
    import ast
    import sys

    found: dict[str, set[str]] = {}
    for path in REPO.rglob("*.py"):
        relative = path.relative_to(REPO)
        if relative.parts[0] in {".venv", ".venv-cadquery", "tests", "bench", "build"} or ".venv" in relative.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                     else [])
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "freecad_spatial":
                    found.setdefault(top, set()).add(str(relative))
    return found


def test_the_in_app_installer_brings_every_package_the_code_imports():
    """What the Install banner installs (resources/assistant-requirements.txt) covers every import that
    FreeCAD does not bring: a package imported but not listed leaves the banner hidden and the assistant
    failing on its import (httpx2, imported by the Anthropic backend, was one)."""
    listed = {re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0] for req in requirements()}
    imported = third_party_imports()
    assert {"anthropic", "httpx", "keyring", "RestrictedPython", "jinja2", "FreeCAD"} <= set(imported)
    unlisted = {name: sorted(files) for name, files in imported.items()
                if name not in listed | FROM_FREECAD | FROM_PMI_EXTRA | FROM_EVAL_EXTRA | FROM_CADQUERY_VENV
                                            | FROM_DASK_EXTRA}
    assert unlisted == {}
    assert listed <= set(imported), "a listed package nothing imports"
