"""The documents an MCP server serves, found by name (or path) for every tool call.

Headless (``OpenDocuments``): the files given with ``--doc`` and those the
client opens; the server closes what it opened. Live (``LiveDocuments``):
FreeCAD's open documents, the active one by default; the client may open
files too, but closes only what it opened itself — never the user's work.
All methods touch FreeCAD documents: call them where the document lives
(the GUI thread in the live session; the service marshals them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NoDocument, ToolError


class DocumentNotFound(NoDocument):
    """A name that no open document has, or no name where several are open."""


@dataclass
class Entry:
    name: str
    path: str
    document: Any


def _resolved(path: str | os.PathLike) -> str:
    return str(Path(path).expanduser().resolve())


class OpenDocuments:
    """Documents opened from files by this server."""

    # Only the server changes these documents (findings it adds): what they say can be remembered.
    changed_only_by_server = True

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def entries(self) -> list[Entry]:
        self._forget_closed()
        return list(self._entries.values())

    def _forget_closed(self) -> None:
        for name, entry in list(self._entries.items()):
            try:
                entry.document.Name  # noqa: B018 - raises once FreeCAD closed it
            except Exception:
                del self._entries[name]

    def open(self, path: str) -> Entry:
        from ..documents import open_document

        wanted = _resolved(path)
        for entry in self.entries():
            if entry.path == wanted:
                return entry
        document = open_document(wanted)
        entry = Entry(document.Name, wanted, document)
        self._entries[entry.name] = entry
        return entry

    def find(self, key: str) -> Entry:
        """The entry named ``key`` (a document name or a file path)."""
        entries = self.entries()
        for entry in entries:
            if key in (entry.name, getattr(entry.document, "Label", None)):
                return entry
        if key:
            wanted = _resolved(key)
            for entry in entries:
                if entry.path == wanted:
                    return entry
        names = ", ".join(e.name for e in entries) or "none"
        raise DocumentNotFound(f"no open document named '{key}' (open: {names})")

    def get(self, name: str | None) -> Entry:
        """The document a call names; without a name, the only (or the active) one."""
        if name:
            return self.find(name)
        entries = self.entries()
        if len(entries) == 1:
            return entries[0]
        if not entries:
            raise DocumentNotFound("no document is open: open one with open_document")
        raise DocumentNotFound("several documents are open: name one with the `document` argument "
                               f"({', '.join(e.name for e in entries)})")

    def close(self, key: str) -> Entry:
        from ..documents import close_document

        entry = self.find(key)
        self._check_may_close(entry)
        close_document(entry.document)
        self._entries.pop(entry.name, None)
        return entry

    def _check_may_close(self, entry: Entry) -> None:
        """Headless: the server opened every document, so it may close any."""

    def close_all(self) -> None:
        for entry in list(self._entries.values()):
            try:
                self.close(entry.name)
            except ToolError:
                pass


class LiveDocuments(OpenDocuments):
    """FreeCAD's open documents in the running GUI; the active one when a call names none."""

    changed_only_by_server = False  # the user edits them: classify on every call

    def __init__(self) -> None:
        super().__init__()
        self._opened: set[str] = set()

    def entries(self) -> list[Entry]:
        import FreeCAD

        return [Entry(doc.Name, _resolved(doc.FileName) if doc.FileName else "", doc)
                for doc in FreeCAD.listDocuments().values()]

    def open(self, path: str) -> Entry:
        wanted = _resolved(path)
        for entry in self.entries():
            if entry.path == wanted:
                return entry
        from ..documents import open_document

        document = open_document(wanted)
        self._opened.add(document.Name)
        return Entry(document.Name, wanted, document)

    def get(self, name: str | None) -> Entry:
        if name:
            return self.find(name)
        import FreeCAD

        active = FreeCAD.ActiveDocument
        if active is not None:
            return self.find(active.Name)
        return super().get(None)

    def _check_may_close(self, entry: Entry) -> None:
        if entry.name not in self._opened:
            raise ToolError(f"{entry.name} was opened by the user: close it in FreeCAD (the server closes only "
                            "what a client opened)")

    def close(self, key: str) -> Entry:
        entry = super().close(key)
        self._opened.discard(entry.name)
        return entry

    def close_all(self) -> None:
        """The user's documents stay open when the server stops; those a client opened are closed."""
        for name in list(self._opened):
            try:
                self.close(name)
            except ToolError:
                pass
