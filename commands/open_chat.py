"""Opens the assistant's chat dock (right side by default; it remembers where it was)."""

from __future__ import annotations

from freecad_spatial import RESOURCES

NAME = "Spatial_OpenChat"


class Command:
    def GetResources(self) -> dict:
        from freecad_spatial.panels.qt import translate_noop

        return {
            "Pixmap": str(RESOURCES / "icons" / "chat.svg"),
            "MenuText": translate_noop(NAME, "Assistant chat"),
            "ToolTip": translate_noop(NAME, "Open the Spatial assistant: ask about the selection; it measures with FreeCAD's kernel"),
        }

    def IsActive(self) -> bool:
        return True

    def Activated(self) -> None:
        from freecad_spatial.panels.chat_dock import show_chat_dock

        show_chat_dock()
