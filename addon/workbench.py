"""What the workbench does when FreeCAD loads and activates it."""

from __future__ import annotations

from freecad_spatial import RESOURCES

TOOLBAR = "Spatial"


def icon_path() -> str:
    return str(RESOURCES / "icons" / "freecad_spatial.svg")


def command_names() -> list[str]:
    """Commands registered so far; later issues add theirs here."""
    from freecad_spatial.commands import registry, serve_mcp

    return registry.register_all() + serve_mcp.register()


def initialize(workbench) -> None:
    names = command_names()
    if names:
        workbench.appendToolbar(TOOLBAR, names)
        workbench.appendMenu(TOOLBAR, names)
    import FreeCAD

    register_preferences()  # already done at start-up (InitGui.py); a no-op then
    FreeCAD.Console.PrintLog("FreeCAD Spatial: workbench initialised\n")


_preferences_registered: list[bool] = []


def register_preferences() -> None:
    """Edit → Preferences → Spatial, available from start-up, before the workbench is first chosen."""
    if _preferences_registered:
        return
    import FreeCADGui

    from freecad_spatial.panels.preferences_page import PreferencePage

    FreeCADGui.addPreferencePage(PreferencePage, "Spatial")
    _preferences_registered.append(True)


def activated() -> None:
    import FreeCAD

    from freecad_spatial.spatial_tools.annotations.store import repair_proxies

    for document in FreeCAD.listDocuments().values():
        # Files re-saved where the addon was missing keep their data but lose the proxy.
        repaired = repair_proxies(document)
        if repaired:
            FreeCAD.Console.PrintMessage(f"FreeCAD Spatial: restored {len(repaired)} annotations in {document.Label}\n")
    FreeCAD.Console.PrintLog("FreeCAD Spatial: workbench activated\n")
