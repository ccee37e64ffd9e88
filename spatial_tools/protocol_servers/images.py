"""Image blocks as each wire format accepts them, checked and decoded for assertions.

The real APIs reject malformed images with a 400: Anthropic wants base64 ``image`` blocks (in user
content or inside a ``tool_result``'s content) with a supported media type; OpenAI chat completions
take ``image_url`` parts only in user messages (tool messages carry text), as URLs or data URLs.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

MEDIA_TYPES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff", "image/gif": b"GIF8",
               "image/webp": b"RIFF"}


@dataclass(frozen=True)
class SentImage:
    """One picture found in a request: where it was, its media type and bytes."""

    where: str  # "tool_result" | "user"
    media_type: str
    data: bytes
    tool_call_id: str = ""


def _decode(media_type: str, data: Any, where: str) -> bytes:
    if media_type not in MEDIA_TYPES:
        raise ValueError(f"{where}: unsupported image media type {media_type!r}")
    if not isinstance(data, str) or not data:
        raise ValueError(f"{where}: image data must be a non-empty base64 string")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{where}: image data is not valid base64") from None
    if not raw.startswith(MEDIA_TYPES[media_type]):
        raise ValueError(f"{where}: image data is not a {media_type}")
    return raw


def _anthropic_block(block: dict, where: str, call_id: str = "") -> SentImage:
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") != "base64":
        raise ValueError(f"{where}: image.source must be a base64 source")
    kind = where.split(".")[0]
    return SentImage(kind, source.get("media_type", ""), _decode(source.get("media_type", ""), source.get("data"), where),
                     call_id)


def anthropic_images(body: dict) -> list[SentImage]:
    """Every image of an Anthropic Messages request; ValueError names the first malformed one."""
    found: list[SentImage] = []
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            if not isinstance(block, dict):
                continue
            if block.get("type") == "image":
                if message.get("role") != "user":
                    raise ValueError(f"messages.{i}.content.{j}: images are only accepted in user turns")
                found.append(_anthropic_block(block, f"user.messages.{i}.content.{j}"))
            elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                for k, inner in enumerate(block["content"]):
                    if isinstance(inner, dict) and inner.get("type") == "image":
                        found.append(_anthropic_block(inner, f"tool_result.messages.{i}.content.{j}.content.{k}",
                                                      str(block.get("tool_use_id", ""))))
                    elif not (isinstance(inner, dict) and inner.get("type") == "text"):
                        raise ValueError(f"messages.{i}.content.{j}.content.{k}: tool_result content blocks "
                                         "must be text or image")
    return found


def openai_images(body: dict) -> list[SentImage]:
    """Every image of an OpenAI chat-completions request; ValueError names the first malformed one."""
    found: list[SentImage] = []
    for i, message in enumerate(body.get("messages") or []):
        if not isinstance(message, dict) or not isinstance(message.get("content"), list):
            continue
        for j, part in enumerate(message["content"]):
            if not isinstance(part, dict) or part.get("type") != "image_url":
                continue
            where = f"messages[{i}].content[{j}]"
            if message.get("role") != "user":
                raise ValueError(f"{where}: image_url parts are only supported in user messages, "
                                 f"not in '{message.get('role')}' messages")
            url = (part.get("image_url") or {}).get("url", "")
            if not isinstance(url, str) or not url.startswith("data:"):
                raise ValueError(f"{where}: this test server takes images only as data URLs")
            header, _, data = url[5:].partition(",")
            media_type, _, encoding = header.partition(";")
            if encoding != "base64":
                raise ValueError(f"{where}: the data URL must be base64")
            found.append(SentImage("user", media_type, _decode(media_type, data, where)))
    return found
