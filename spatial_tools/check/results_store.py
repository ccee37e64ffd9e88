"""``check --results DIR``: each file's outcome kept on disk, so a stopped run resumes and a re-run skips unchanged files.

An entry's key is a SHA-256 of the file's content and of everything else its
findings depend on: the process, the profile (the user's profile file's
content, material, directions), whether the part is drawn (HTML), the
``--annotate`` target, and the checker's own code and data (the package
version and a hash of the rule, geometry and GD&T sources and of the
resource tables). The same bytes under another name reuse the entry; a
changed byte, a changed profile or an updated checker misses it. Outcomes
that say nothing about the file (it timed out, or its checker process died)
are never stored: the next run tries the file again.

Each entry is one JSON file under ``DIR/entries/<2 hex>/<key>.json``, written
atomically the moment its file is done, so an interrupted run loses at most
the files in flight. The report is assembled from these entries.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..dfm.finding import Finding
from .batch import CheckOptions, FileResult
from .output import write_atomic

FORMAT = "freecad-spatial/result@1"
_PACKAGE = Path(__file__).resolve().parents[2]
# What a finding depends on besides the file: the checker's code and its data tables.
_CODE_GLOBS = ("spatial_tools/dfm/**/*.py", "spatial_tools/geometry/**/*.py", "spatial_tools/gdt/**/*.py",
               "spatial_tools/documents.py", "spatial_tools/check/batch.py", "spatial_tools/check/render_svg.py",
               "resources/**/*.toml")


class StoreError(OSError):
    """The results folder cannot be used (not a folder, not writable)."""


def content_hash(path: str, chunk: int = 1 << 20) -> str | None:
    """SHA-256 of the file's bytes; None when it cannot be read (its check reports why)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while block := fh.read(chunk):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def checker_fingerprint(root: Path = _PACKAGE) -> str:
    """A hash of the package version and of the sources and tables the findings come from."""
    from importlib import metadata

    try:
        version = metadata.version("freecad-spatial")
    except metadata.PackageNotFoundError:
        version = "unknown"
    digest = hashlib.sha256(version.encode())
    for pattern in _CODE_GLOBS:
        for source in sorted(root.glob(pattern)):
            digest.update(str(source.relative_to(root)).encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()


def options_fingerprint(options: CheckOptions, checker: str) -> str:
    """A hash of what the findings depend on besides the file's bytes (not the timeout: it decides no finding)."""
    profile_bytes = b""
    if options.profile:
        try:
            profile_bytes = Path(options.profile).read_bytes()
        except OSError:
            profile_bytes = b"unreadable"
    parts = {
        "process": options.process,
        "profile": hashlib.sha256(profile_bytes).hexdigest() if options.profile else None,
        "material": options.material,
        "pull_direction": options.pull_direction,
        "build_direction": options.build_direction,
        "render": options.render,
        "annotate": options.annotate,
        "annotate_dir": options.annotate_dir,
        "pmi": options.pmi,  # a STEP file's own GD&T imported first, or not
        "checker": checker,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def is_transient(result: FileResult) -> bool:
    """An outcome that says nothing about the file itself: try the file again next run."""
    return result.transient


def result_to_json(result: FileResult) -> dict:
    data = asdict(result)
    data["findings"] = [f.to_dict() for f in result.findings]
    return data


def result_from_json(data: dict, path: str) -> FileResult:
    fields = {k: v for k, v in data.items() if k in FileResult.__dataclass_fields__}
    fields["findings"] = [Finding.from_dict(f) for f in fields.get("findings", [])]
    fields["path"] = path  # the entry may come from the same bytes under another name
    return FileResult(**fields)


class ResultStore:
    """The entries of one results folder, for one set of options."""

    def __init__(self, folder: str, options: CheckOptions):
        self.folder = Path(folder)
        try:
            (self.folder / "entries").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"--results {folder}: {exc.strerror or exc}") from None
        if not os.access(self.folder / "entries", os.W_OK):
            raise StoreError(f"--results {folder}: the folder is not writable")
        self.options = options
        self.salt = options_fingerprint(options, checker_fingerprint())
        self.hits = 0
        self.stored = 0

    def key(self, path: str) -> str | None:
        """The entry key of ``path`` as it is now; None when it cannot be read (never stored)."""
        digest = content_hash(path)
        if digest is None:
            return None
        return hashlib.sha256(f"{digest}:{self.salt}".encode()).hexdigest()

    def _entry(self, key: str) -> Path:
        return self.folder / "entries" / key[:2] / f"{key}.json"

    def get(self, key: str | None, path: str) -> FileResult | None:
        """The stored outcome for ``key``, as the outcome of ``path``; None when not stored (or unusable)."""
        if key is None:
            return None
        try:
            data = json.loads(self._entry(key).read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("key") != key:
                return None
            result = result_from_json(data["result"], path)
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a missing or damaged entry: the file is checked again
        if result.annotated is not None and not os.path.exists(result.annotated):
            return None  # the annotated document it wrote is gone: write it again
        self.hits += 1
        return result

    def put(self, key: str | None, result: FileResult) -> None:
        """Keeps ``result`` under ``key`` (atomically), unless it says nothing about the file."""
        if key is None or is_transient(result):
            return
        entry = self._entry(key)
        entry.parent.mkdir(parents=True, exist_ok=True)
        data: dict[str, Any] = {"format": FORMAT, "key": key, "result": result_to_json(result)}
        write_atomic(str(entry), json.dumps(data, default=list))  # ASCII: a name that is not UTF-8 survives
        self.stored += 1
