"""What ``freecad-spatial check`` shows and writes: file names made printable, reports written atomically.

A file name on Linux is bytes; Python hands the bytes that are not UTF-8 over
as lone surrogates, which no report format can encode (a JSON, XML or HTML
report is UTF-8). ``display_name`` is the one place that turns any path into
a valid-UTF-8 name for every format, stderr and the progress bar: bytes that
are not UTF-8 and control characters become ``\\xNN`` escapes, every other
name is left exactly as given.

``write_atomic`` is the one writer of every report: the text goes to a
temporary file beside the target, is flushed to disk, then renamed over the
target, so a failure (a disk full, an unwritable folder, a text that cannot
be encoded) leaves the earlier report as it was and no temporary file behind.
"""

from __future__ import annotations

import os
import re
import secrets

# C0 controls and DEL: they would break the one-line-per-file stderr and are not allowed in XML 1.0.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# In free text (reasons, messages) tabs and line breaks are kept; XML 1.0 allows them.
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    return f"\\x{ord(match.group()):02x}"


def _utf8_bytes(text: str) -> bytes:
    """The bytes a str path stands for: surrogate escapes back to their bytes (os.fsencode's rule)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte (a Windows name): keep it visible
        return text.encode("utf-8", "surrogatepass")


def display_name(path: str | bytes | os.PathLike) -> str:
    """``path`` as valid UTF-8 text: undecodable bytes and control characters as ``\\xNN``, the rest unchanged."""
    raw = os.fspath(path)
    data = raw if isinstance(raw, bytes) else _utf8_bytes(raw)
    return _CONTROL.sub(_escape, data.decode("utf-8", "backslashreplace"))


def printable(text: str | None) -> str | None:
    """Free text (a reason quoting a path, say) made encodable: lone surrogates and stray controls escaped."""
    if text is None:
        return None
    if _SURROGATE.search(text):
        text = _utf8_bytes(text).decode("utf-8", "backslashreplace")
    return _TEXT_CONTROL.sub(_escape, text)


def is_utf8(path: str | os.PathLike) -> bool:
    """True when ``path`` is valid UTF-8 text, so FreeCAD's C++ side can open it as it is."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Writes ``data`` (str as strict UTF-8) to ``path`` all at once, or not at all.

    The temporary file lives in the target's folder (a rename across file
    systems is not atomic), is fsync'ed before the rename, and is removed when
    anything fails; the exception then propagates. A symlinked target is
    written through, as ``open(path, "w")`` would.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)  # may raise: nothing written yet
    target = os.path.realpath(os.fspath(path))
    folder, name = os.path.split(target)
    while True:
        temp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    try:  # the rename itself survives a power cut once the folder is on disk too
        dir_fd = os.open(folder or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
