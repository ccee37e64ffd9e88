"""Every failure kind a tool can report, mapped to envelope codes in one place."""

from __future__ import annotations


class ToolError(Exception):
    """A failure the caller (or the model) can act on."""

    code = "tool_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def envelope(self) -> dict:
        return {"ok": False, "error": {"code": self.code, "message": self.message}}


class BadArguments(ToolError):
    code = "bad_arguments"


class BadReference(ToolError):
    code = "bad_reference"


class UnknownTool(ToolError):
    code = "unknown_tool"


class NoDocument(ToolError):
    code = "no_document"


class GeometryError(ToolError):
    """The kernel could not answer (invalid shape, failed boolean...)."""

    code = "geometry_error"


class UnreadableFile(ToolError):
    code = "unreadable_file"


class NotApplicable(ToolError):
    """The question does not apply to these elements (angle of two spheres...)."""

    code = "not_applicable"


class InternalError(ToolError):
    code = "internal_error"


class DeadlineExceeded(ToolError):
    """The call's time budget (a code cell's remaining time, or the model's per-call budget) ran out,
    or was too short for the call to start."""

    code = "deadline_exceeded"


class ReadOnly(ToolError):
    """The call would change the document, and its caller (a code cell, the model) may only read it."""

    code = "read_only"


class NotPermitted(ToolError):
    """A file the caller may not name: outside the allowed folders, or not a regular file."""

    code = "not_permitted"


def of_code(code: str | None, message: str) -> ToolError:
    """The ToolError whose ``code`` is ``code`` (InternalError for an unknown one), e.g. for an error a worker
    process reported by code and message."""
    kinds = [k for k in globals().values() if isinstance(k, type) and issubclass(k, ToolError)]
    kind = next((k for k in kinds if k.code == code), InternalError)
    return kind(message)
