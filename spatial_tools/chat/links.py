"""References in answers as links: ``Plate.Face7`` -> ``ref:Plate.Face7``, "finding 3" -> ``finding:3``.

``linkify`` rewrites the model's Markdown so a Markdown renderer (Qt's
``QTextBrowser.setMarkdown``) shows references as links; fenced code blocks,
existing links and code spans that are not a bare reference stay untouched.
``parse_link`` turns a clicked URL back into what it names.
"""

from __future__ import annotations

import re
from collections.abc import Callable

REF_SCHEME = "ref"
FINDING_SCHEME = "finding"
# An element reference: one or more object names, then FaceN/EdgeN/VertexN (1-based).
_REF = r"(?:[A-Za-z_][A-Za-z0-9_]*\.)+(?:Face|Edge|Vertex)[1-9][0-9]*"
REF = re.compile(rf"(?<![\w.]){_REF}(?![\w])")
_FINDING = r"[Ff]inding\s+(?:#|no\.\s*)?([1-9][0-9]*)"
FINDING = re.compile(rf"\b{_FINDING}\b")
_TOKEN = re.compile(
    rf"(?P<link>!?\[[^\]]*\]\([^)]*\))"
    rf"|(?P<code>(?P<ticks>`+)(?P<body>.+?)(?P=ticks))"
    rf"|(?P<ref>(?<![\w.]){_REF}(?![\w]))"
    rf"|(?P<finding>\b{_FINDING}\b)"
)
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def _linkify_line(line: str) -> str:
    def replace(match: re.Match) -> str:
        if match.group("link"):
            return match.group(0)
        if match.group("code"):
            body = match.group("body").strip()
            if REF.fullmatch(body):
                return f"[{match.group(0)}]({REF_SCHEME}:{body})"
            return match.group(0)
        if match.group("ref"):
            ref = match.group("ref")
            return f"[{ref}]({REF_SCHEME}:{ref})"
        number = FINDING.match(match.group("finding")).group(1)
        return f"[{match.group('finding')}]({FINDING_SCHEME}:{number})"

    return _TOKEN.sub(replace, line)


def _outside_fences(markdown: str, change: Callable[[str], str]) -> str:
    """``change`` applied to every line outside fenced code blocks."""
    out: list[str] = []
    fenced = False
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            out.append(line)
            continue
        out.append(line if fenced else change(line))
    return "\n".join(out)


def linkify(markdown: str) -> str:
    """The Markdown with element references and finding numbers turned into links."""
    return _outside_fences(markdown, _linkify_line)


def renumber_findings(markdown: str, numbers: list[int]) -> str:
    """"finding k" (the k-th finding this answer submitted, as the prompt asks the model to write) becomes
    "finding N", N the number the document gave it; other numbers and code stay as they are."""
    if not numbers:
        return markdown

    def replace(match: re.Match) -> str:
        k = int(match.group(1))
        if not 1 <= k <= len(numbers):
            return match.group(0)
        start, end = match.span(1)
        text = match.group(0)
        offset = match.start(0)
        return text[: start - offset] + str(numbers[k - 1]) + text[end - offset:]

    def line_renumbered(line: str) -> str:
        parts = re.split(r"(`+[^`]*`+)", line)  # code spans stay as written
        return "".join(p if p.startswith("`") else FINDING.sub(replace, p) for p in parts)

    return _outside_fences(markdown, line_renumbered)


def parse_link(url: str) -> tuple[str, str | int] | None:
    """``("ref", "Plate.Face7")``, ``("finding", 3)`` or None for any other URL."""
    scheme, _, rest = url.partition(":")
    if scheme == REF_SCHEME and REF.fullmatch(rest):
        return REF_SCHEME, rest
    if scheme == FINDING_SCHEME and rest.isdigit() and int(rest) > 0:
        return FINDING_SCHEME, int(rest)
    return None


def split_ref(ref: str) -> tuple[str, str]:
    """``"Body.Pad.Face2"`` -> ``("Body.Pad", "Face2")``: the object path and the element name."""
    owner, _, element = ref.rpartition(".")
    return owner, element
