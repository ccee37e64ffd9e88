"""Lists the spatial tools the assistant may call, in the Report view."""

from __future__ import annotations

from freecad_spatial import RESOURCES

NAME = "Spatial_ShowTools"


class Command:
    def GetResources(self) -> dict:
        return {
            "Pixmap": str(RESOURCES / "icons" / "freecad_spatial.svg"),
            "MenuText": "Spatial tools",
            "ToolTip": "List the measurement and inspection tools in the Report view",
        }

    def IsActive(self) -> bool:
        return True

    def Activated(self) -> None:
        import FreeCAD

        from freecad_spatial.spatial_tools.registry import REGISTRY, load_builtin_tools

        load_builtin_tools()
        for spec in REGISTRY.specs():
            FreeCAD.Console.PrintMessage(f"{spec.name}: {spec.description.splitlines()[0]}\n")
