"""What a tool call can see: the document, the selection, and GUI hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolContext:
    """Handed to every tool. The GUI fills the hooks; headless runs leave them empty."""

    document: Any = None
    # [{"ref": "Plate.Face7", "picked_point": [x, y, z] | None}], in pick order.
    selection: list[dict] = field(default_factory=list)
    # Called with element refs when select_region wants the GUI to select them.
    on_select: Callable[[list[str]], None] | None = None
    # Supplies a fresh selection (the GUI's live one); overrides ``selection`` when set.
    selection_provider: Callable[[], list[dict]] | None = None

    def current_selection(self) -> list[dict]:
        if self.selection_provider is not None:
            return list(self.selection_provider())
        return list(self.selection)
