"""Resource names (AIP-122): parsing with field-naming errors, and new ids."""

from __future__ import annotations

import re
import uuid
from functools import lru_cache

from services.core.errors import InvalidArgument

# AIP-122 resource ids: lowercase letters, digits and hyphens, 1 to 63 characters.
ID_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ID_RE = re.compile(rf"^{ID_PATTERN}$")


@lru_cache(maxsize=64)
def _compile(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", pattern)
    regex = "".join(
        f"(?P<{part[1:-1]}>{ID_PATTERN})" if part.startswith("{") else re.escape(part) for part in parts
    )
    return re.compile(f"^{regex}$")


def parse(pattern: str, value: str, field: str) -> dict[str, str]:
    """parse("offices/{office}/rooms/{room}", "offices/la/rooms/r1", "name")
    -> {"office": "la", "room": "r1"}; INVALID_ARGUMENT naming `field` otherwise."""
    if not value:
        raise InvalidArgument(field, f"required; expected {pattern}")
    match = _compile(pattern).match(value)
    if match is None:
        raise InvalidArgument(field, f"{_preview(value)} is not a valid name; expected {pattern}")
    return match.groupdict()


def parse_id(pattern: str, value: str, field: str) -> str:
    """The single id of a one-level pattern, e.g. loops/{loop} -> the loop id."""
    (resource_id,) = parse(pattern, value, field).values()
    return resource_id


def validate_id(value: str, field: str) -> str:
    if not _ID_RE.match(value):
        raise InvalidArgument(field, "must be 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen")
    return value


def new_id() -> str:
    return uuid.uuid4().hex


def _preview(value: str, limit: int = 80) -> str:
    text = value if len(value) <= limit else value[:limit] + "..."
    return repr(text)
