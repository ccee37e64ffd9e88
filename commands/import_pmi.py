"""Import GD&T from STEP: a supplier's AP242 PMI onto the open part, in one undo step, then a summary."""

from __future__ import annotations

from typing import Any

from . import common

NAME = "Spatial_ImportPmi"


def _target(document: Any) -> Any:
    """The selected solid part, else the document's only one; None: the file's shape is added as a new part."""
    import FreeCADGui

    for obj in FreeCADGui.Selection.getSelection(document.Name):
        shape = getattr(obj, "Shape", None)
        if shape is not None and not shape.isNull() and shape.Solids:
            return obj
    parts = [o for o in document.Objects if o.TypeId.startswith("Part::") and getattr(o, "Shape", None) is not None and o.Shape.Solids]
    return parts[0] if len(parts) == 1 else None


def choose_file() -> str:
    """Asks for the STEP file ('' when cancelled); tests replace this function."""
    import FreeCADGui

    from freecad_spatial.panels.qt import QtWidgets, tr

    path, _ = QtWidgets.QFileDialog.getOpenFileName(
        FreeCADGui.getMainWindow(), tr(NAME, "Import GD&T from STEP"), "", tr(NAME, "STEP AP242 (*.step *.stp *.STEP *.STP)"))
    return path or ""


def offer_reader_install(parent: Any = None) -> bool:
    """The reader's packages are missing: a dialog offering to install them (progress, result) into the reader's
    own venv, made with the Python FreeCAD runs on; True when the reader can run afterwards.

    The install runs in QProcesses (the GUI never freezes); Cancel kills it and removes what it had built.
    """
    import os

    from freecad_spatial.panels.dependencies import DependencyBanner, python_executable
    from freecad_spatial.panels.qt import QtWidgets, exec_dialog, tr
    from freecad_spatial.spatial_tools.gdt import pmi_import
    from freecad_spatial.spatial_tools.gdt.reader_venv import ReaderVenvInstall

    folder = pmi_import.reader_packages_folder()
    dialog = QtWidgets.QDialog(parent)
    dialog.setObjectName("SpatialPmiReaderInstall")
    dialog.setMinimumWidth(640)
    dialog.setWindowTitle(tr(NAME, "Import GD&T from STEP"))
    layout = QtWidgets.QVBoxLayout(dialog)
    chosen = os.environ.get(pmi_import.PYTHON_ENV)
    if chosen:
        # The user named the reader's Python: an install elsewhere would not be used.
        note = QtWidgets.QLabel(tr(NAME, "{variable} names {python}, which cannot import the PMI reader's packages "
                                   "({names}). Install them into that Python, or unset {variable} to let FreeCAD "
                                   "Spatial install them into its own folder.").format(
            variable=pmi_import.PYTHON_ENV, python=chosen, names=", ".join(pmi_import.reader_requirements())), dialog)
        note.setWordWrap(True)
        layout.addWidget(note)
        banner = None
    else:
        base = python_executable()
        plan = ReaderVenvInstall(folder, base, pmi_import.reader_requirements())
        banner = DependencyBanner(dialog, find_missing=lambda: pmi_import.reader_requirements() if pmi_import.reader_missing() else [],
                                  target=lambda: str(folder), python=lambda: base, plan=plan,
                                  needed_by=tr(NAME, "Reading GD&T from a STEP file"))
        where = QtWidgets.QLabel(tr(NAME, "Install makes a Python environment for them in {folder} with {python} "
                                    "(the Python FreeCAD runs on); the reader runs there, in its own process.").format(
            python=base, folder=folder), dialog)
        where.setWordWrap(True)
        banner.button.setToolTip(tr(NAME, "Make the PMI reader's own Python environment and install its packages "
                                    "there with pip; Cancel stops it and removes what it had made"))
        banner.finished.connect(lambda ok: dialog.accept() if ok else None)
        dialog.rejected.connect(banner.cancel)
        layout.addWidget(banner)
        layout.addWidget(where)
        banner.setVisible(True)
    buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Cancel, dialog)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    # Room for the wrapped messages (pip's progress, a failure's reason): Qt sizes a dialog from unwrapped text.
    dialog.resize(680, 420)
    accepted = bool(exec_dialog(dialog))
    if banner is not None:
        banner.cancel()  # closed by the window manager while installing: nothing left running or half-built
    return accepted and not pmi_import.reader_missing()


class Command:
    def GetResources(self) -> dict:  # noqa: N802 - FreeCAD's names
        from freecad_spatial.panels.qt import translate_noop

        return {
            "Pixmap": common.icon("feature_control_frame.svg"),
            "MenuText": translate_noop(NAME, "Import GD&T from STEP…"),
            "ToolTip": translate_noop(NAME, "Import a supplier's STEP AP242 GD&T (datums, datum targets, frames, dimensions) onto the open part "
                       "in one undo step; a summary lists what came in and what was skipped, and why"),
        }

    def IsActive(self) -> bool:  # noqa: N802
        return True

    def Activated(self) -> None:  # noqa: N802
        import FreeCAD
        import FreeCADGui

        from freecad_spatial.panels.pmi_summary import show_summary
        from freecad_spatial.spatial_tools.errors import ToolError
        from freecad_spatial.spatial_tools.gdt.pmi_import import PmiReaderMissing, import_pmi
        from freecad_spatial.spatial_tools.gdt.pmi_summary import public_summary

        path = choose_file()
        if not path:
            return
        document = FreeCAD.ActiveDocument or FreeCAD.newDocument("GdtImport")
        target = _target(document)
        try:
            try:
                summary = import_pmi(document, path, target=target)
            except PmiReaderMissing:
                if not offer_reader_install(FreeCADGui.getMainWindow()):
                    return
                summary = import_pmi(document, path, target=target)
        except ToolError as exc:
            common.tell_user("Import GD&T from STEP", exc.message)
            return
        document.recompute()
        show_summary(public_summary(summary), FreeCADGui.getMainWindow())
