"""The files one ``check`` run covers: its FILE arguments, folders searched recursively, and list files.

A part library is a folder tree or a list exported from a PLM vault, not a
shell command line (100,000 names do not fit in one). A folder stands for
every CAD file under it (FreeCAD's suffixes, as ``documents.CAD_SUFFIXES``
knows them), sorted so two runs see the same order; a list file (``--from``)
has one path per line, relative paths taken from the list file's folder,
blank lines and ``#`` comments skipped. A FILE that does not exist, or a folder named like a CAD file
(``part.step/``), stays in the list: the report gives it its "error" entry
like any unreadable file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ..documents import CAD_SUFFIXES


class InputError(ValueError):
    """An argument names no usable input (an empty folder, an unreadable list file)."""


def cad_files_under(folder: str) -> list[str]:
    """Every CAD file under ``folder`` (recursively, links to folders not followed), in sorted order."""
    found = []
    for root, _dirs, names in os.walk(folder, followlinks=False):
        found += [os.path.join(root, n) for n in names if os.path.splitext(n)[1].lower() in CAD_SUFFIXES]
    return sorted(found)


def read_list(list_file: str) -> list[str]:
    """The paths in a list file: one a line, relative to the list's own folder; ``-`` is standard input."""
    import sys

    try:
        if list_file == "-":
            text = sys.stdin.read()
            base = os.getcwd()
        else:
            with open(list_file, encoding="utf-8", errors="surrogateescape") as fh:
                text = fh.read()
            base = os.path.dirname(os.path.abspath(list_file))
    except OSError as exc:
        raise InputError(f"--from {list_file}: {exc.strerror or exc}") from None
    paths = []
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        paths.append(entry if os.path.isabs(entry) else os.path.join(base, entry))
    return paths


def _named_like_cad(path: str) -> bool:
    """A folder named like a CAD file ("part.step/") was meant as one: it gets its error entry, not a search."""
    return os.path.splitext(os.path.normpath(path))[1].lower() in CAD_SUFFIXES


def expand(arguments: Iterable[str], list_files: Iterable[str] = ()) -> list[str]:
    """The files to check, in order: FILE arguments (folders expanded), then each list file's."""
    entries: list[str] = list(arguments)
    for list_file in list_files:
        listed = read_list(list_file)
        if not listed:
            raise InputError(f"--from {list_file}: the list names no file")
        entries += listed
    files: list[str] = []
    for entry in entries:
        if os.path.isdir(entry) and not _named_like_cad(entry):
            under = cad_files_under(entry)
            if not under:
                suffixes = ", ".join(sorted(CAD_SUFFIXES))
                raise InputError(f"{entry}: the folder holds no CAD file ({suffixes})")
            files += under
        else:
            files.append(entry)  # a file named twice is reported twice, as tools.md's FILE... always was
    return files
