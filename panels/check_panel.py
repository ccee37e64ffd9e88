"""The Check manufacturability task panel: process, material, profile file, pull/build direction, objects.

A FreeCAD task panel (``FreeCADGui.Control.showDialog``), so it sits in the
Tasks tab and the 3D view stays usable while it is open: the direction is
taken from a face or edge the user selects there (``geometry.direction``),
not typed. The materials are the ones ``load_profile`` accepts, the same list
as the CLI's ``--material`` (``dfm.profiles.materials``). OK hands the choices
as a background ``Job`` to ``start`` (the command), which runs the check in a
worker process; a refusal is shown in the panel, which then stays open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from freecad_spatial.spatial_tools.annotations.background import Job

from .qt import QtCore, QtGui, QtWidgets, tr

CONTEXT = "CheckTaskPanel"
DIRECTIONS = {"injection-molding": "pull", "fdm": "build"}  # processes whose rules take a direction
DEFAULT_PROCESS = "cnc-3axis"


def _enum(value: Any) -> int:
    """A Qt enum as an int on PySide2 and PySide6 alike (FreeCAD reads the buttons as an int)."""
    return int(getattr(value, "value", value))


def _narrow(combo: Any) -> None:
    """A combo box that does not widen the narrow Tasks tab to its longest item."""
    combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)


def _fmt(vector: tuple[float, ...]) -> str:
    return ", ".join(f"{c:g}" for c in vector)


class CheckTaskPanel:
    """``form`` is the widget FreeCAD puts in the Tasks tab; ``accept``/``reject`` are its OK/Cancel."""

    def __init__(self, document: Any, processes: list[str], objects: list[tuple[str, str]], chosen: list[str],
                 start: Callable[[Job], str | None], icon: str | None = None) -> None:
        self.document = document
        self.start = start
        self.form = QtWidgets.QWidget()
        self.form.setObjectName("SpatialCheckPanel")
        self.form.setWindowTitle(tr(CONTEXT, "Check manufacturability"))
        if icon:
            self.form.setWindowIcon(QtGui.QIcon(icon))
        layout = QtWidgets.QVBoxLayout(self.form)
        form = QtWidgets.QFormLayout()
        self.process = QtWidgets.QComboBox()
        self.process.setObjectName("SpatialCheckProcess")
        self.process.addItems(processes)
        _narrow(self.process)
        if DEFAULT_PROCESS in processes:
            self.process.setCurrentIndex(processes.index(DEFAULT_PROCESS))
        form.addRow(tr(CONTEXT, "Process"), self.process)
        self.material = QtWidgets.QComboBox()
        self.material.setObjectName("SpatialCheckMaterial")
        _narrow(self.material)
        self.material.setToolTip(tr(CONTEXT, "The material picks the profile's values for it (as --material does)"))
        form.addRow(tr(CONTEXT, "Material"), self.material)
        row = QtWidgets.QHBoxLayout()
        self.profile = QtWidgets.QLineEdit()
        self.profile.setObjectName("SpatialCheckProfile")
        self.profile.setPlaceholderText(tr(CONTEXT, "built-in profile of the process"))
        browse = QtWidgets.QToolButton()
        browse.setText("…")
        browse.setToolTip(tr(CONTEXT, "Choose a profile file (TOML) whose values override the process's"))
        browse.clicked.connect(lambda *_: self._browse())
        row.addWidget(self.profile, 1)
        row.addWidget(browse)
        form.addRow(tr(CONTEXT, "Profile file"), row)
        layout.addLayout(form)
        layout.addWidget(self._direction_box())
        objects_box = QtWidgets.QGroupBox(tr(CONTEXT, "Objects"))
        box_layout = QtWidgets.QVBoxLayout(objects_box)
        self.objects = QtWidgets.QListWidget()
        self.objects.setObjectName("SpatialCheckObjects")
        for name, label in objects:
            item = QtWidgets.QListWidgetItem(f"{label} ({name})" if label != name else name)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            checked = QtCore.Qt.CheckState.Checked if name in chosen else QtCore.Qt.CheckState.Unchecked
            item.setCheckState(checked)
            self.objects.addItem(item)
        box_layout.addWidget(self.objects)
        layout.addWidget(objects_box)
        self.message = QtWidgets.QLabel()
        self.message.setObjectName("SpatialCheckMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c0392b;")
        layout.addWidget(self.message)
        self.process.currentIndexChanged.connect(lambda *_: self._process_changed())
        self.profile.editingFinished.connect(lambda *_: self._fill_materials())
        self._process_changed()

    def _direction_box(self) -> Any:
        self.direction_box = QtWidgets.QGroupBox()
        self.direction_box.setObjectName("SpatialCheckDirection")
        layout = QtWidgets.QVBoxLayout(self.direction_box)
        row = QtWidgets.QHBoxLayout()
        self.axes = []
        for axis in ("x", "y", "z"):
            row.addWidget(QtWidgets.QLabel(axis))
            spin = QtWidgets.QDoubleSpinBox()
            spin.setRange(-1.0, 1.0)
            spin.setDecimals(3)
            spin.setSingleStep(0.1)
            spin.setMinimumWidth(44)  # the Tasks tab is narrow: the three share what there is
            spin.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)
            spin.valueChanged.connect(lambda *_: self._typed())
            self.axes.append(spin)
            row.addWidget(spin, 1)
        layout.addLayout(row)
        buttons = QtWidgets.QHBoxLayout()
        self.pick_button = QtWidgets.QPushButton(tr(CONTEXT, "From selection"))
        self.pick_button.setObjectName("SpatialCheckPickDirection")
        self.pick_button.setToolTip(tr(CONTEXT, "Planar face: its outward normal (for a build direction, the "
                                                "opposite: the face lies on the build plate). Cylindrical face: "
                                                "its axis. Straight edge: from its first vertex to its last."))
        self.pick_button.clicked.connect(lambda *_: self.pick_direction())
        self.flip_button = QtWidgets.QPushButton(tr(CONTEXT, "Flip"))
        self.flip_button.setObjectName("SpatialCheckFlipDirection")
        self.flip_button.clicked.connect(lambda *_: self.flip())
        buttons.addWidget(self.pick_button, 1)
        buttons.addWidget(self.flip_button)
        layout.addLayout(buttons)
        self.direction_note = QtWidgets.QLabel()
        self.direction_note.setObjectName("SpatialCheckDirectionNote")
        self.direction_note.setWordWrap(True)
        layout.addWidget(self.direction_note)
        return self.direction_box

    # --- FreeCAD's task panel interface ---------------------------------------------------

    def getStandardButtons(self) -> int:  # noqa: N802 - FreeCAD's name
        box = QtWidgets.QDialogButtonBox.StandardButton
        return _enum(box.Ok) | _enum(box.Cancel)

    def accept(self) -> bool:
        """Starts the check; False (the panel stays open, saying why) when the choices are not usable."""
        try:
            job = self.read()
        except ValueError as exc:
            self.message.setText(str(exc))
            return False
        refusal = self.start(job)
        if refusal:
            self.message.setText(refusal)
            return False
        return True

    def reject(self) -> bool:
        return True

    # --- choices ------------------------------------------------------------------------------

    def direction_kind(self) -> str | None:
        """"pull" or "build" when the current process takes a direction, else None."""
        return DIRECTIONS.get(self.process.currentText())

    def direction(self) -> tuple[float, float, float]:
        return tuple(spin.value() for spin in self.axes)  # type: ignore[return-value]

    def set_direction(self, vector: tuple[float, float, float], note: str) -> None:
        for spin, value in zip(self.axes, vector, strict=True):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        self.direction_note.setText(note)
        self.direction_note.setStyleSheet("")

    def _typed(self) -> None:
        self.direction_note.setText(tr(CONTEXT, "Typed: {vector}").format(vector=_fmt(self.direction())))
        self.direction_note.setStyleSheet("")

    def _process_changed(self) -> None:
        from freecad_spatial.spatial_tools.dfm.profiles import ProfileError, load_profile

        kind = self.direction_kind()
        self.direction_box.setEnabled(kind is not None)
        if kind is None:
            self.direction_box.setTitle(tr(CONTEXT, "Direction"))
            self.direction_note.setText(tr(CONTEXT, "{process} takes no pull or build direction")
                                        .format(process=self.process.currentText()))
        else:
            self.direction_box.setTitle(tr(CONTEXT, "Pull direction") if kind == "pull" else tr(CONTEXT, "Build direction"))
            try:
                profile = load_profile(self.process.currentText())
                default = profile.pull_direction if kind == "pull" else profile.build_direction
            except ProfileError:
                default = (0.0, 0.0, 1.0)
            self.set_direction(tuple(default), tr(CONTEXT, "The profile's default: {vector}. Select a face or edge "
                                                           "in the 3D view and press the button to take it from there.")
                               .format(vector=_fmt(default)))
        self._fill_materials()

    def _fill_materials(self) -> None:
        """The materials of the process, with those a profile file adds; the profile's default selected."""
        from freecad_spatial.spatial_tools.dfm.profiles import ProfileError, materials

        process = self.process.currentText()
        current = self.material.currentData()
        path = self.profile.text().strip() or None
        try:
            found, default = materials(process, path)
            self.message.setText("")
        except ProfileError as exc:
            self.message.setText(exc.message)
            found, default = materials(process)
        self.material.blockSignals(True)
        self.material.clear()
        for i, (name, label) in enumerate(found.items()):
            self.material.addItem(label, name)
            self.material.setItemData(i, f"--material {name}", QtCore.Qt.ItemDataRole.ToolTipRole)
        chosen = current if current in found else default
        self.material.setCurrentIndex(list(found).index(chosen))
        self.material.blockSignals(False)

    def pick_direction(self) -> bool:
        """Takes the direction from the first selected face or edge; says what to pick otherwise."""
        import FreeCADGui

        from freecad_spatial.spatial_tools.errors import ToolError
        from freecad_spatial.spatial_tools.geometry.direction import NoDirection, direction_from_ref

        refs = [f"{sel.ObjectName}.{sub}" for sel in FreeCADGui.Selection.getSelectionEx(self.document.Name)
                for sub in sel.SubElementNames if sub]
        if not refs:
            return self._no_direction(tr(CONTEXT, "Select a planar or cylindrical face or a straight edge in the "
                                                  "3D view first."))
        try:
            picked = direction_from_ref(self.document, refs[0])
        except NoDirection as exc:
            return self._no_direction(tr(CONTEXT, "{ref} is {what}: it gives no direction. Select a planar or "
                                                  "cylindrical face or a straight edge.")
                                      .format(ref=exc.ref, what=self._what(exc.what)))
        except (ToolError, ValueError) as exc:
            return self._no_direction(getattr(exc, "message", str(exc)))
        vector = picked.vector
        if picked.kind == "face_normal" and self.direction_kind() == "build":
            vector = tuple(-c + 0.0 for c in vector)  # type: ignore[assignment]
            note = tr(CONTEXT, "Away from {ref}, the face on the build plate (its inward normal): {vector}")
        elif picked.kind == "face_normal":
            note = tr(CONTEXT, "Outward normal of {ref} (the mold opens away from that face): {vector}")
        elif picked.kind == "face_axis":
            note = tr(CONTEXT, "Axis of the cylindrical face {ref}: {vector}")
        else:
            note = tr(CONTEXT, "Along the straight edge {ref}, first vertex to last: {vector}")
        self.set_direction(vector, note.format(ref=picked.ref, vector=_fmt(vector)) + " · "
                           + tr(CONTEXT, "Flip reverses it."))
        return True

    def _what(self, what: str) -> str:
        kind, _, name = what.partition(":")
        if kind == "surface":
            return tr(CONTEXT, "a curved face ({surface})").format(surface=name)
        if kind == "curve":
            return tr(CONTEXT, "a curved edge ({curve})").format(curve=name)
        if kind == "vertex":
            return tr(CONTEXT, "a vertex")
        return tr(CONTEXT, "a whole object")

    def _no_direction(self, message: str) -> bool:
        self.direction_note.setText(message)
        self.direction_note.setStyleSheet("color: #c0392b;")
        return False

    def flip(self) -> None:
        vector = tuple(-c + 0.0 for c in self.direction())
        self.set_direction(vector, tr(CONTEXT, "Flipped: {vector}").format(vector=_fmt(vector)))  # type: ignore[arg-type]

    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self.form, tr(CONTEXT, "Profile file"), "",
                                                        tr(CONTEXT, "Profiles (*.toml)"))
        if path:
            self.profile.setText(path)
            self._fill_materials()

    def checked_objects(self) -> list[str]:
        checked = QtCore.Qt.CheckState.Checked
        return [self.objects.item(i).data(QtCore.Qt.ItemDataRole.UserRole) for i in range(self.objects.count())
                if self.objects.item(i).checkState() == checked]

    def read(self) -> Job:
        """The choices as the background check's Job; ValueError saying what is missing."""
        names = self.checked_objects()
        if not names:
            raise ValueError(tr(CONTEXT, "Tick at least one object to check."))
        kind = self.direction_kind()
        direction = list(self.direction()) if kind else None
        if direction is not None and not any(direction):
            raise ValueError(tr(CONTEXT, "The direction is zero: select a face or edge and take it from there."))
        return Job(process=self.process.currentText(), objects=tuple(names),
                   profile=self.profile.text().strip() or None, material=self.material.currentData(),
                   pull_direction=direction if kind == "pull" else None,
                   build_direction=direction if kind == "build" else None)
