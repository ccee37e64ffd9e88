"""What the chat controller needs from FreeCAD, behind one small class (no Qt, no FreeCADGui).

Every method here touches the document and is called on the GUI thread only
(the controller marshals calls from its worker). The FreeCAD GUI dock
subclasses it for the live selection, selection links and findings; tests use
it with FreeCAD imported as a library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FindingsHook = Callable[[Any, list[dict]], Any]


class DocumentHost:
    """One document, the current selection, and the tool registry."""

    def __init__(self, document: Callable[[], Any], selection: Callable[[], list[dict]] | None = None,
                 on_findings: FindingsHook | None = None, on_select: Callable[[list[str]], None] | None = None):
        self._document = document
        self._selection = selection or (lambda: [])
        self.on_findings = on_findings
        self.on_select = on_select
        self._registry: Any = None

    def document(self) -> Any:
        return self._document()

    def selection(self) -> list[dict]:
        return list(self._selection())

    def registry(self) -> Any:
        if self._registry is None:
            from freecad_spatial.spatial_tools.registry import load_builtin_tools

            self._registry = load_builtin_tools()
        return self._registry

    def classification(self) -> str:
        """The effective classification of the document (markings raise it, never lower)."""
        from freecad_spatial.spatial_tools.classification import classify

        document = self.document()
        if document is None:
            return "unrestricted"
        return classify(document, extra_names=[getattr(document, "FileName", "") or ""]).level

    def encode(self, selection: list[dict], budget_tokens: int) -> str | None:
        """The encoder's JSON of the document within the budget (what the model is given)."""
        from freecad_spatial.spatial_tools.encoder import encode_json

        document = self.document()
        return None if document is None else encode_json(document, selection, budget_tokens=budget_tokens)

    def call_tool(self, name: str, arguments: dict, selection: list[dict]) -> dict:
        from freecad_spatial.spatial_tools.context import ToolContext

        context = ToolContext(document=self.document(), selection=list(selection), on_select=self.on_select)
        return self.registry().call(name, arguments, context)

    def publish_findings(self, findings: list[dict]) -> Any:
        """The one hook for submitted findings (annotation objects, findings dock)."""
        if self.on_findings is not None and findings:
            return self.on_findings(self.document(), findings)
        return None
