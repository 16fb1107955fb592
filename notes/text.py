"""Parsing of ``#topics`` and ``@mentions`` in note and comment text."""

from __future__ import annotations

import re

# A topic runs until whitespace, another marker or CJK/ASCII punctuation; "#春日穿搭#" also works.
TOPIC_RE = re.compile(r"#([^\s#@,.!?;:，。！？；：、()（）\[\]【】]{1,40})")
MENTION_RE = re.compile(r"@([\w.+-]{1,150})")
MAX_TOPICS = 10
MAX_MENTIONS = 20


def _unique(items: list[str], limit: int) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)[:limit]


def parse_topics(*texts: str) -> list[str]:
    """Topic names in order of first appearance, at most ``MAX_TOPICS``."""
    return _unique([m for text in texts for m in TOPIC_RE.findall(text or "")], MAX_TOPICS)


def parse_mentions(*texts: str) -> list[str]:
    """Usernames mentioned, in order of first appearance, at most ``MAX_MENTIONS``."""
    return _unique([m for text in texts for m in MENTION_RE.findall(text or "")], MAX_MENTIONS)
