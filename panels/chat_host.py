"""What the chat controller needs from FreeCAD, behind one small class (no Qt, no FreeCADGui).

Every method here touches the document and is called on the GUI thread only
(the controller marshals calls from its worker). The ``start_*`` methods
only take the snapshot there: on Linux a forked child computes the tool call
or the document encoding while the GUI runs on, and the controller's worker
waits for the answer (spatial_tools/tool_process.py), so the event loop
stalls only for the fork, not for the kernel; without fork (Windows, macOS)
a warm worker process computes on a saved copy (tool_worker.py). The FreeCAD GUI dock
subclasses it for the live selection, selection links and findings; tests use
it with FreeCAD imported as a library.

Tool calls here come from the model and its code cells: they only read the
document, name profiles only from the profile library and configured
folders, and end with their time budget. Findings the model submits become
annotation objects through ``publish_findings``, called by the controller
after the answer, not from inside a tool call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FindingsHook = Callable[[Any, list[dict]], Any]


class DocumentHost:
    """One document, the current selection, and the tool registry."""

    def __init__(self, document: Callable[[], Any], selection: Callable[[], list[dict]] | None = None,
                 on_findings: FindingsHook | None = None, on_select: Callable[[list[str]], None] | None = None,
                 view_camera: Callable[[Any], dict | None] | None = None):
        self._document = document
        self._selection = selection or (lambda: [])
        self._view_camera = view_camera  # the document's live 3D view camera as plain data (GUI only)
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
        return self.start_encode(selection, budget_tokens).wait()

    def start_encode(self, selection: list[dict], budget_tokens: int) -> Any:
        """``encode``, started: ``.wait(cancel)`` gives the JSON (forked where possible, see above)."""
        import time

        from freecad_spatial.spatial_tools import tool_process, tool_worker
        from freecad_spatial.spatial_tools.context import model_call_s
        from freecad_spatial.spatial_tools.encoder import encode_json

        document = self.document()
        if document is None:
            return tool_process.Done(None)
        selection = list(selection)
        deadline = time.monotonic() + model_call_s()
        if not tool_process.available() and tool_worker.available():
            return tool_worker.start_encode(document, selection, budget_tokens, deadline)
        return tool_process.start(lambda: encode_json(document, selection, budget_tokens=budget_tokens), deadline,
                                  "the document's summary")

    def call_tool(self, name: str, arguments: dict, selection: list[dict]) -> dict:
        """Runs a tool for the model (``start_tool(...).wait()``)."""
        return self.start_tool(name, arguments, selection).wait()

    def start_tool(self, name: str, arguments: dict, selection: list[dict]) -> Any:
        """Starts a tool call for the model; ``.wait(cancel)`` gives its envelope on any thread. The limits
        the agent puts on ``arguments`` (a cell's shorter deadline) tighten these; a host-side deadline and
        read-only hold even without them."""
        import time

        from freecad_spatial.spatial_tools.context import ToolContext, model_call_s

        document = self.document()
        camera = self._view_camera(document) if self._view_camera is not None and document is not None else None
        context = ToolContext.for_assistant(document, selection=list(selection), on_select=self.on_select,
                                            deadline=time.monotonic() + model_call_s(), view_camera=camera)
        return self.registry().start(name, arguments, context)

    def publish_findings(self, findings: list[dict]) -> Any:
        """The one hook for submitted findings (annotation objects, findings dock)."""
        if self.on_findings is not None and findings:
            return self.on_findings(self.document(), findings)
        return None

    def finding_numbers(self, published: Any) -> list[int] | None:
        """The numbers the document gave the annotation objects ``publish_findings`` named, in order (the
        dock's, the markers' and the report's); None when they are not annotation objects."""
        document = self.document()
        if document is None or not isinstance(published, list | tuple):
            return None
        objects = [document.getObject(name) if isinstance(name, str) else None for name in published]
        numbers = [int(getattr(o, "Number", 0) or 0) for o in objects if o is not None]
        return numbers if len(numbers) == len(published) and all(numbers) else None
