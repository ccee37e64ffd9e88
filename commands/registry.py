"""The one place that registers the workbench's GUI commands."""

from __future__ import annotations

import importlib

# Module paths of command modules; each defines NAME and a Command class.
COMMAND_MODULES: list[str] = [
    "freecad_spatial.commands.show_tools",
    "freecad_spatial.commands.open_chat",
    "freecad_spatial.commands.check_manufacturability",
    "freecad_spatial.commands.show_findings",
    "freecad_spatial.commands.clear_findings",
    "freecad_spatial.commands.export_report",
    "freecad_spatial.commands.suggest_gdt",
    "freecad_spatial.commands.import_pmi",
]


def register_all() -> list[str]:
    import FreeCADGui

    names = []
    for path in COMMAND_MODULES:
        module = importlib.import_module(path)
        FreeCADGui.addCommand(module.NAME, module.Command())
        names.append(module.NAME)
    return names
