"""The audit log: one JSON line per outbound model request (tiers.md).

Each line holds the time, tier, classification, endpoint host, backend,
model, bytes sent, the sha256 of the payload and the tools whose results the
request carries — never the key, never the payload, never the full URL (a
query string may carry a key). Refused requests are logged too, with zero
bytes, so a reviewer sees that the policy held.

Location: ``FreeCAD.getUserAppDataDir()/FreeCADSpatial/audit.jsonl`` when
FreeCAD is loaded, else the platform's user data folder; the environment
variable ``FREECAD_SPATIAL_AUDIT_LOG`` or an explicit path overrides both.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

ENV_VAR = "FREECAD_SPATIAL_AUDIT_LOG"
FOLDER = "FreeCADSpatial"
FILE_NAME = "audit.jsonl"


def _platform_data_dir() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def default_path() -> Path:
    """Where the log goes when nobody says otherwise."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    freecad = sys.modules.get("FreeCAD")
    if freecad is not None and hasattr(freecad, "getUserAppDataDir"):
        return Path(freecad.getUserAppDataDir()) / FOLDER / FILE_NAME
    return _platform_data_dir() / FOLDER / FILE_NAME


def digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


class AuditLog:
    """Appends records; safe to share between threads."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_path()
        self._lock = threading.Lock()

    def record(
        self,
        *,
        tier: str,
        classification: str,
        host: str,
        backend: str,
        model: str,
        payload: bytes,
        tools: list[str],
        refused: str | None = None,
    ) -> dict:
        """Appends one line and returns it. ``payload`` is hashed and measured, never stored."""
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "tier": tier,
            "classification": classification,
            "host": host,
            "backend": backend,
            "model": model,
            "bytes": 0 if refused else len(payload),
            "sha256": digest(payload),
            "tools": list(tools),
        }
        if refused:
            entry["refused"] = refused
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line)
        return entry

    def read(self) -> list[dict]:
        """Every record, oldest first (for the preferences page and tests)."""
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
