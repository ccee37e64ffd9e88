"""What a tool call can see: the document, the selection, GUI hooks, and the call's limits.

The limits say what the caller allows: a deadline (a ``time.monotonic()``
value), whether the call may change the document, and which folders files
may be named from. A user calling a tool directly (the ``tool`` command,
scripts) gets none of them; the model and code cells get all three, so they
cannot run past their budget, change the document, or read host files.

Limits reach ``Registry.call`` two ways: on the ToolContext a host builds,
and on the arguments themselves (``ToolArguments``), which the agent loop
and the code-cell kernel hand to any host's ``call_tool(name, arguments)``.
The second way needs no change to the hosts' signatures and survives the
GUI's main-thread bridge, which passes the arguments on untouched. Where
both are given the tighter of each wins.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from freecad_spatial import RESOURCES

from .errors import DeadlineExceeded

LIMITS_FILE = RESOURCES / "tool_limits.toml"


@cache
def tool_limits() -> dict:
    """resources/tool_limits.toml: time budgets, argument caps and read caps of tool calls."""
    with open(LIMITS_FILE, "rb") as fh:
        return tomllib.load(fh)


def min_start_s(tool: str) -> float:
    """The least budget a call of ``tool`` needs left to be started at all."""
    times = tool_limits()["time"]
    return float(times.get("min_start_s_by_tool", {}).get(tool, times["min_start_s"]))


def unlimited_hint(tool: str, arguments: Mapping[str, Any]) -> str:
    """How the user can run a call that ran out of budget without a limit (for the deadline error)."""
    hints = tool_limits()["time"]["unlimited_hint"]
    text = hints.get(tool, hints["default"])
    process = arguments.get("process") if isinstance(arguments, Mapping) else None
    return text.format(tool=tool, process=process if isinstance(process, str) else "PROCESS")


def model_call_s() -> float:
    """The budget of one tool call the model makes directly."""
    return float(tool_limits()["time"]["model_call_s"])


def cell_tool_deadline(cell_deadline: float | None) -> float | None:
    """The deadline of a tool call from a cell whose own budget ends at ``cell_deadline``."""
    if cell_deadline is None:
        return None
    return cell_deadline - float(tool_limits()["time"]["cell_reply_margin_s"])


def _earlier(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


@dataclass(frozen=True)
class CallLimits:
    """What the caller of one tool call allows."""

    deadline: float | None = None  # time.monotonic() when the budget is spent; None: no limit
    may_change_document: bool = True
    restrict_files: bool = False  # True: files only from the profile library and configured folders

    @classmethod
    def assistant(cls, deadline: float | None = None, may_change_document: bool = False) -> CallLimits:
        """The limits of a call from the model or a code cell: read-only and no host files by default."""
        return cls(deadline=deadline, may_change_document=may_change_document, restrict_files=True)

    def tighter(self, other: CallLimits | None) -> CallLimits:
        """Each limit at the stricter of the two."""
        if other is None:
            return self
        return CallLimits(
            deadline=_earlier(self.deadline, other.deadline),
            may_change_document=self.may_change_document and other.may_change_document,
            restrict_files=self.restrict_files or other.restrict_files,
        )


class ToolArguments(dict):
    """A tool's arguments with the caller's limits attached (``limits``).

    A plain dict to everything else (JSON, validation, ``**arguments``), so
    it passes through any host's ``call_tool`` to ``Registry.call``, which
    applies the limits. Copying it into a new plain dict drops them; hosts
    that serve the model therefore also set them on their ToolContext.
    """

    def __init__(self, arguments: Mapping[str, Any] | None = None, limits: CallLimits | None = None):
        super().__init__(arguments or {})
        self.limits = limits or CallLimits()

    @classmethod
    def wrap(cls, arguments: Any, limits: CallLimits) -> Any:
        """``arguments`` under ``limits`` (tightened with any they carry); non-dicts are returned as they
        are, for the registry to report."""
        if not isinstance(arguments, dict):
            return arguments
        carried = arguments.limits if isinstance(arguments, ToolArguments) else None
        return cls(arguments, limits.tighter(carried))

    @classmethod
    def for_cell(cls, arguments: Any, deadline: float | None) -> Any:
        """Arguments of a tool call from a code cell whose budget ends at ``deadline``: read-only, no host
        files, and done ``cell_reply_margin_s`` before it, so the answer reaches the cell in time."""
        return cls.wrap(arguments, CallLimits.assistant(deadline=cell_tool_deadline(deadline)))


def limits_of(arguments: Any) -> CallLimits | None:
    return arguments.limits if isinstance(arguments, ToolArguments) else None


@dataclass
class ToolContext:
    """Handed to every tool. The GUI fills the hooks; headless runs leave them empty."""

    document: Any = None
    # [{"ref": "Plate.Face7", "picked_point": [x, y, z] | None}], in pick order.
    selection: list[dict] = field(default_factory=list)
    # Called with element refs when select_region wants the GUI to select them.
    on_select: Callable[[list[str]], None] | None = None
    # Supplies a fresh selection (the GUI's live one); overrides ``selection`` when set.
    selection_provider: Callable[[], list[dict]] | None = None
    # time.monotonic() at which the call's budget is spent; None: no limit (a user's own call).
    deadline: float | None = None
    # False for the model and code cells unless the user's command allows changes.
    may_change_document: bool = True
    # Folders a profile (or drill table) may be named from; None: any path (a user's own call).
    profile_folders: tuple[str, ...] | None = None
    # The GUI's live 3D view camera as plain floats (render/live_view.snapshot, taken on the GUI thread
    # when the call starts, so it crosses to a forked child or a worker); None outside the GUI.
    view_camera: dict | None = None

    def current_selection(self) -> list[dict]:
        if self.selection_provider is not None:
            return list(self.selection_provider())
        return list(self.selection)

    @classmethod
    def for_assistant(cls, document: Any = None, *, profile_folders: Sequence[str] | None = None,
                      deadline: float | None = None, may_change_document: bool = False, **hooks: Any) -> ToolContext:
        """The context of a host that serves the model (and its code cells): read-only, files only from
        the profile library and configured folders (``profile_folders``, default: those of
        ``allowed_profile_folders``), and a deadline."""
        if profile_folders is None:
            from .dfm.profiles import allowed_profile_folders

            profile_folders = allowed_profile_folders()
        return cls(document=document, deadline=deadline, may_change_document=may_change_document,
                   profile_folders=tuple(str(f) for f in profile_folders), **hooks)

    def with_limits(self, limits: CallLimits | None) -> ToolContext:
        """This context tightened by ``limits`` (itself when they change nothing)."""
        if limits is None:
            return self
        deadline = _earlier(self.deadline, limits.deadline)
        may_change = self.may_change_document and limits.may_change_document
        folders = self.profile_folders
        if limits.restrict_files and folders is None:
            from .dfm.profiles import allowed_profile_folders

            folders = tuple(str(f) for f in allowed_profile_folders())
        if (deadline, may_change, folders) == (self.deadline, self.may_change_document, self.profile_folders):
            return self
        return replace(self, deadline=deadline, may_change_document=may_change, profile_folders=folders)

    def remaining(self) -> float | None:
        """Seconds left of the budget (negative when spent); None without a deadline."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check_deadline(self, what: str) -> None:
        """Raises DeadlineExceeded once the budget is spent; long Python loops call it between steps."""
        left = self.remaining()
        if left is not None and left <= 0:
            raise DeadlineExceeded(f"{what}: stopped: the call's time budget ran out")

