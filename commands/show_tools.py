"""Shows the spatial tools the assistant may call in a dialog: name, description, arguments."""

from __future__ import annotations

from freecad_spatial import RESOURCES

NAME = "Spatial_ShowTools"


class Command:
    def GetResources(self) -> dict:  # noqa: N802 - FreeCAD's names
        # Imported here: the commands module must import headless (Qt is only there with the GUI).
        from freecad_spatial.panels.qt import translate_noop

        return {
            "Pixmap": str(RESOURCES / "icons" / "freecad_spatial.svg"),
            "MenuText": translate_noop(NAME, "Spatial tools"),
            "ToolTip": translate_noop(NAME, "Show the measurement and inspection tools the assistant may call, "
                                            "with their descriptions and arguments"),
        }

    def IsActive(self) -> bool:  # noqa: N802
        return True

    def Activated(self) -> None:  # noqa: N802
        import FreeCAD
        import FreeCADGui

        from freecad_spatial.panels.tools_dialog import show_tools_dialog
        from freecad_spatial.spatial_tools.registry import load_builtin_tools

        specs = load_builtin_tools().specs()
        # The list stays in the Report view too, for copying into a bug report.
        for spec in specs:
            FreeCAD.Console.PrintMessage(f"{spec.name}: {spec.description.splitlines()[0]}\n")
        show_tools_dialog(specs, FreeCADGui.getMainWindow())
