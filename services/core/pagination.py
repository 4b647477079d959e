"""AIP-158 pagination: bounded page sizes and opaque page tokens.

A token carries the sort key of the last item returned (keyset paging, so
inserts between pages neither skip nor repeat items) and a digest of the query
it belongs to: a token from another list or another filter is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from services.core.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_size(value: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    if value < 0:
        raise InvalidArgument("page_size", "must not be negative")
    if value == 0:
        return default
    return min(value, maximum)


def query_scope(*parts: Any) -> str:
    """A short digest of the list method and its filters."""
    raw = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def encode_token(scope: str, last_key: Sequence[Any]) -> str:
    payload = json.dumps({"s": scope, "k": list(last_key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_token(token: str, scope: str) -> list[Any] | None:
    """The last key of the previous page, or None for the first page."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidArgument("page_token", "not a token this service issued") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("k"), list):
        raise InvalidArgument("page_token", "not a token this service issued")
    if payload.get("s") != scope:
        raise InvalidArgument("page_token", "belongs to a different list or filter; start again without it")
    return payload["k"]


def split_page(rows: Sequence[Any], size: int) -> tuple[Sequence[Any], bool]:
    """Callers fetch size+1 rows; this returns the page and whether more exist."""
    return rows[:size], len(rows) > size


class KeysetPage:
    """One list call's paging: its size, the query its token belongs to, and the
    sort key where the previous page ended. Fetch `size + 1` rows after
    `after`, then `finish` them into the page and the next token."""

    def __init__(self, page_size_value: int, page_token: str, *scope_parts: Any) -> None:
        self.size = page_size(page_size_value)
        self.scope = query_scope(*scope_parts)
        self.after = decode_token(page_token, self.scope)

    def finish(self, rows: Sequence[Any], key: Callable[[Any], Sequence[Any]]) -> tuple[list[Any], str]:
        page, more = split_page(rows, self.size)
        return list(page), encode_token(self.scope, key(page[-1])) if more and page else ""
