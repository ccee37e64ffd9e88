"""samples.jsonl in the fine-tuning formats: Anthropic (Bedrock Claude messages), OpenAI (chat
fine-tuning with image_url data URLs) and Hugging Face (TRL vision chat: `images` + typed parts)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

FORMATS = ("anthropic", "openai", "hf")


def _b64(root: Path, rel: str) -> str:
    path = (root / rel).resolve()
    if root.resolve() not in path.parents:  # a row never points the export outside its dataset
        raise ValueError(f"image path '{rel}' leaves the dataset folder")
    return base64.b64encode(path.read_bytes()).decode("ascii")


def _text(parts: list[dict]) -> str:
    return "\n".join(p["text"] for p in parts if p["type"] == "text" and p["text"])


def anthropic_row(root: Path, row: dict) -> dict:
    messages = []
    for m in row["messages"][1:]:
        content = []
        for p in m["content"]:
            if p["type"] == "image":
                content.append({"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                            "data": _b64(root, p["image"])}})
            else:
                content.append({"type": "text", "text": p["text"]})
        messages.append({"role": m["role"], "content": content})
    return {"system": _text(row["messages"][0]["content"]), "messages": messages}


def openai_row(root: Path, row: dict) -> dict:
    messages = []
    for m in row["messages"]:
        if m["role"] != "user":
            messages.append({"role": m["role"], "content": _text(m["content"])})
            continue
        content = []
        for p in m["content"]:
            if p["type"] == "image":
                content.append({"type": "image_url", "image_url": {"url": "data:image/png;base64," + _b64(root, p["image"])}})
            else:
                content.append({"type": "text", "text": p["text"]})
        messages.append({"role": "user", "content": content})
    return {"messages": messages}


def hf_row(root: Path, row: dict) -> dict:
    return {"images": [str((root / p).resolve()) for p in row["images"]],
            "messages": [{"role": m["role"], "content": [{"type": p["type"], "text": p["text"]} for p in m["content"]]}
                         for m in row["messages"]]}


def rows(root: Path, fmt: str) -> Iterator[dict]:
    convert = {"anthropic": anthropic_row, "openai": openai_row, "hf": hf_row}[fmt]
    with open(root / "samples.jsonl", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield convert(root, json.loads(line))


def export(root: Path, fmt: str, out: Path) -> int:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}' (formats: {', '.join(FORMATS)})")
    n = 0
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in rows(root, fmt):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(out)
    return n
