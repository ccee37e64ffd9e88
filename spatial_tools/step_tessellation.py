"""A STEP file's text without its tessellated copy of the part, so the B-rep reads in a fraction of the time.

AP242 files (the NIST PMI models among them) often carry the part twice: as
an exact B-rep and as triangles (``COORDINATES_LIST`` with tens of thousands
of points). OpenCASCADE 7.6, FreeCAD 0.20's kernel, takes up to 27 s over
those lists (NIST ftc_11; 0.17 s without them) and every check measures the
B-rep only. The entities named in resources/step_reading.toml are dropped
whole; references to them dangle, which the reader ignores (it warns). The
text is split into statements at ``;`` outside quoted strings, so a string
holding ``;`` or a quote cannot cut an entity in two.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache

from freecad_spatial import RESOURCES

RESOURCE = RESOURCES / "step_reading.toml"
# One statement: quoted strings (with '' inside) or runs of other bytes, up to the ';' that ends it.
_STATEMENT = re.compile(rb"(?:'(?:[^']|'')*+'|[^';]++)*+;")


@lru_cache(maxsize=1)
def _entity_pattern() -> re.Pattern[bytes]:
    names = tomllib.loads(RESOURCE.read_text(encoding="utf-8"))["tessellated_entities"]
    alternatives = [re.escape(n[:-1]) + "[A-Z0-9_]*" if n.endswith("*") else re.escape(n) for n in names]
    return re.compile(rb"\s*#\d+\s*=\s*\(?\s*(?:" + "|".join(alternatives).encode() + rb")\s*\(")


def without_tessellation(data: bytes) -> bytes | None:
    """``data`` without its tessellated entities; None when it has none (or is no STEP text to split)."""
    if b"COORDINATES_LIST" not in data and b"TESSELLATED" not in data and b"TRIANGULATED" not in data:
        return None
    pattern = _entity_pattern()
    kept = []
    dropped = 0
    end = 0
    for match in _STATEMENT.finditer(data):
        if match.start() != end:  # something the statement split did not cover: leave the file as it is
            return None
        end = match.end()
        statement = match.group()
        if pattern.match(statement):
            dropped += 1
        else:
            kept.append(statement)
    if not dropped:
        return None
    kept.append(data[end:])
    return b"".join(kept)
