# FreeCAD exec()s this file when the GUI starts: ``__file__`` is undefined and
# module-level names are not visible inside the methods, so each method
# imports what it needs.


class FreeCADSpatialWorkbench(Workbench):  # noqa: F821 - provided by FreeCAD
    """Spatial assistant: measurement, DFM and GD&T tools on FreeCAD's kernel."""

    MenuText = "Spatial"
    ToolTip = "FreeCAD Spatial: measure, check manufacturability, ask the assistant"

    def __init__(self):
        from freecad_spatial.addon import workbench

        self.__class__.Icon = workbench.icon_path()

    def Initialize(self):
        from freecad_spatial.addon import workbench

        workbench.initialize(self)

    def Activated(self):
        from freecad_spatial.addon import workbench

        workbench.activated()

    def Deactivated(self):
        pass

    def GetClassName(self):
        return "Gui::PythonWorkbench"


Gui.addWorkbench(FreeCADSpatialWorkbench())  # noqa: F821 - provided by FreeCAD


def _register_freecad_spatial_preferences():
    try:
        from freecad_spatial import RESOURCES
        from freecad_spatial.addon.workbench import register_preferences

        # The Preferences dialog shows the group "Spatial" with the icon named "preferences-spatial",
        # looked up on FreeCAD's icon path: resources/icons/preferences-spatial.svg.
        Gui.addIconPath(str(RESOURCES / "icons"))  # noqa: F821 - provided by FreeCAD
        register_preferences()
    except Exception as exc:  # the rest of the workbench must still load
        FreeCAD.Console.PrintError(f"FreeCAD Spatial: the preference page could not be registered: {exc}\n")  # noqa: F821


_register_freecad_spatial_preferences()
