"""Opaque page tokens for the ranked feeds (discover, nearby): a small JSON object, base64url."""

from __future__ import annotations

import base64
import binascii
import json

from config.errors import InvalidInput

MAX_TOKEN = 4096


def _invalid() -> InvalidInput:
    return InvalidInput("Invalid cursor.", code="invalid_cursor", fields={"cursor": ["Invalid."]})


def encode_token(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None) -> dict:
    """The object a token stands for ({} for none); anything malformed is a 400."""
    if not token:
        return {}
    if len(token) > MAX_TOKEN:
        raise _invalid()
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _invalid() from exc
    if not isinstance(data, dict):
        raise _invalid()
    return data


def number(data: dict, name: str, kind: type = float):
    """A number from a decoded token, checked (booleans and strings are refused)."""
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid()
    if kind is int and not isinstance(value, int):
        raise _invalid()
    return kind(value)
