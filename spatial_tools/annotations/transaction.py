"""One undoable step per user action: open, commit, or abort on error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def transaction(document: Any, name: str) -> Iterator[Any]:
    """Wraps a document change so Undo takes it back in one step named ``name``.

    On an exception the change is aborted (rolled back) and the exception goes on.
    """
    document.openTransaction(name)
    try:
        yield document
    except BaseException:
        document.abortTransaction()
        raise
    document.commitTransaction()
