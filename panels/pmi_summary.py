"""The summary after *Import GD&T from STEP*: what came in, what was skipped and why.

Every item of the file is in one of the two lists (issue 20: nothing
silent); items imported without all their faces are marked. Frame symbols
are spelt out (``frame_text.readable_text``): Debian's fonts lack ⌖ and the
circled modifiers.
"""

from __future__ import annotations

from typing import Any

from .qt import QtCore, QtWidgets, exec_dialog, tr

KIND_TITLES = {
    "datum": "Datum features",
    "datum_target": "Datum targets",
    "datum_system": "Datum reference frames",
    "tolerance": "Feature control frames",
    "dimension": "Dimensions",
}


def _kind_title(kind: str) -> str:
    return tr("PmiSummaryDialog", KIND_TITLES.get(kind, kind))


class PmiSummaryDialog:
    """Builds the dialog over ``pmi_summary.public_summary`` data; ``run()`` shows it modally."""

    def __init__(self, data: dict, parent: Any = None) -> None:
        from freecad_spatial.spatial_tools.annotations.frame_text import readable_text

        self.data = data
        self.dialog = QtWidgets.QDialog(parent)
        self.dialog.setObjectName("SpatialPmiSummary")
        self.dialog.setWindowTitle(tr("PmiSummaryDialog", "GD&T imported from {file}").format(file=data["file"]))
        self.dialog.resize(760, 520)
        layout = QtWidgets.QVBoxLayout(self.dialog)
        imported = sum(data["imported"].values())
        head = tr("PmiSummaryDialog", "{n} items imported onto {target}, {s} skipped. Undo removes the whole import.").format(
            n=imported, target=data["target"], s=len(data["skipped"]))
        self.headline = QtWidgets.QLabel(head)
        self.headline.setObjectName("SpatialPmiHeadline")
        self.headline.setWordWrap(True)
        layout.addWidget(self.headline)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setObjectName("SpatialPmiTree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels([tr("PmiSummaryDialog", "Item"), tr("PmiSummaryDialog", "Object / reason")])
        self.imported_root = QtWidgets.QTreeWidgetItem([tr("PmiSummaryDialog", "Imported ({n})").format(n=imported), ""])
        self.tree.addTopLevelItem(self.imported_root)
        by_kind: dict[str, QtWidgets.QTreeWidgetItem] = {}
        for item in data.get("items", []):
            group = by_kind.get(item["kind"])
            if group is None:
                group = QtWidgets.QTreeWidgetItem([f"{_kind_title(item['kind'])} ({data['imported'].get(item['kind'], 0)})", ""])
                self.imported_root.addChild(group)
                by_kind[item["kind"]] = group
            note = item["object"]
            if item.get("unmatched_faces"):
                note += "  " + tr("PmiSummaryDialog", "(not all faces linked)")
            if item.get("inferred"):
                note += "  " + tr("PmiSummaryDialog", "(faces linked by inference)")
            row = QtWidgets.QTreeWidgetItem([readable_text(item["what"]), note])
            if item.get("inferred"):
                row.setToolTip(1, item["inferred"])
            group.addChild(row)
        self.skipped_root = QtWidgets.QTreeWidgetItem([tr("PmiSummaryDialog", "Skipped ({n})").format(n=len(data["skipped"])), ""])
        self.tree.addTopLevelItem(self.skipped_root)
        for entry in data["skipped"]:
            what = readable_text(entry["what"])
            lines = [ln.strip() for ln in what.splitlines() if ln.strip()] or [what]
            # a general note of many lines takes one row: its first line, all of it in the tooltip
            child = QtWidgets.QTreeWidgetItem([lines[0] + (" …" if len(lines) > 1 else ""), entry["reason"]])
            child.setToolTip(0, what)
            child.setToolTip(1, entry["reason"])
            self.skipped_root.addChild(child)
        self.imported_root.setExpanded(True)
        self.skipped_root.setExpanded(True)
        self.tree.header().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.tree)
        if data.get("faces_not_mapped"):
            lost = QtWidgets.QLabel(tr("PmiSummaryDialog", "{n} faces named by the file could not be found on the part; "
                                                           "their annotations are marked above.").format(n=len(data["faces_not_mapped"])))
            lost.setWordWrap(True)
            layout.addWidget(lost)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.dialog.reject)
        buttons.accepted.connect(self.dialog.accept)
        layout.addWidget(buttons)

    def rows(self, root: Any) -> list[tuple[str, str]]:
        """(item, object/reason) of every leaf under ``root``: what a user reads, for tests and scripts."""
        out = []
        stack = [root]
        while stack:
            node = stack.pop(0)
            if node.childCount() == 0 and node is not root:
                out.append((node.text(0), node.text(1)))
            stack = [node.child(i) for i in range(node.childCount())] + stack
        return out

    def run(self) -> None:
        exec_dialog(self.dialog)


def show_summary(data: dict, parent: Any = None) -> PmiSummaryDialog:
    """Builds and shows the summary modally; returns it (closed)."""
    dialog = PmiSummaryDialog(data, parent)
    dialog.run()
    return dialog


__all__ = ["PmiSummaryDialog", "QtCore", "show_summary"]
