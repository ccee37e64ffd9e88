"""The Check manufacturability dialog: process, profile file, pull/build direction, objects."""

from __future__ import annotations

from typing import Any

from freecad_spatial.spatial_tools.annotations.check import CheckRequest


def _qt() -> tuple[Any, Any]:
    from PySide import QtCore, QtGui

    return QtCore, QtGui


class CheckDialog:
    """Builds the dialog; ``request()`` reads the user's choices back (None when cancelled)."""

    def __init__(self, processes: list[str], objects: list[tuple[str, str]], chosen: list[str], parent: Any = None) -> None:
        QtCore, QtGui = _qt()
        self.dialog = QtGui.QDialog(parent)
        self.dialog.setObjectName("SpatialCheckDialog")
        self.dialog.setWindowTitle("Check manufacturability")
        form = QtGui.QFormLayout()
        self.process = QtGui.QComboBox()
        self.process.addItems(processes)
        if "cnc-3axis" in processes:
            self.process.setCurrentIndex(processes.index("cnc-3axis"))
        form.addRow("Process", self.process)
        row = QtGui.QHBoxLayout()
        self.profile = QtGui.QLineEdit()
        self.profile.setPlaceholderText("built-in profile of the process")
        browse = QtGui.QPushButton("…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.profile)
        row.addWidget(browse)
        form.addRow("Profile file", row)
        self.direction = QtGui.QLineEdit("0, 0, 1")
        self.direction.setToolTip("Pull direction for injection molding, build direction for FDM (x, y, z)")
        form.addRow("Pull/build direction", self.direction)
        self.objects = QtGui.QListWidget()
        for name, label in objects:
            item = QtGui.QListWidgetItem(f"{label} ({name})" if label != name else name)
            item.setData(QtCore.Qt.UserRole, name)
            item.setFlags(item.flags() | QtCore.Qt.ItemIsUserCheckable)
            item.setCheckState(QtCore.Qt.Checked if name in chosen else QtCore.Qt.Unchecked)
            self.objects.addItem(item)
        form.addRow("Objects", self.objects)
        buttons = QtGui.QDialogButtonBox(QtGui.QDialogButtonBox.Ok | QtGui.QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.dialog.accept)
        buttons.rejected.connect(self.dialog.reject)
        layout = QtGui.QVBoxLayout(self.dialog)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        _, QtGui = _qt()
        path, _ = QtGui.QFileDialog.getOpenFileName(self.dialog, "Profile file", "", "Profiles (*.toml)")
        if path:
            self.profile.setText(path)

    def request(self) -> CheckRequest | None:
        """Shows the dialog modally; the choices, or None when cancelled or invalid."""
        run = getattr(self.dialog, "exec", None) or self.dialog.exec_
        if not run():
            return None
        return self.read()

    def read(self) -> CheckRequest:
        QtCore, _ = _qt()
        try:
            direction = tuple(float(x) for x in self.direction.text().replace(";", ",").split(","))
        except ValueError:
            direction = ()
        if len(direction) != 3 or not any(direction):
            raise ValueError(f"direction {self.direction.text()!r} is not three numbers like 0, 0, 1")
        names = [
            self.objects.item(i).data(QtCore.Qt.UserRole)
            for i in range(self.objects.count())
            if self.objects.item(i).checkState() == QtCore.Qt.Checked
        ]
        return CheckRequest(
            process=self.process.currentText(),
            profile=self.profile.text().strip() or None,
            direction=direction,  # type: ignore[arg-type]
            objects=tuple(names),
        )
