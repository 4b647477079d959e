"""Looking for a planted marker in every form it could leak in.

The marker is ASCII, so UTF-8, quoted-printable, JSON and URL encodings of it
are the marker itself; base64 (at each of the three alignments a surrounding
text can give it) and hex (PostgreSQL's bytea text form) are searched too.
"""

from __future__ import annotations

import base64
import email
import email.policy
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine


def new_marker() -> str:
    return f"CONFIDENTIAL{uuid.uuid4().hex}"


def encodings(marker: str) -> dict[str, bytes]:
    raw = marker.encode()
    forms = {"plain": raw, "plain-lower": raw.lower(), "hex": raw.hex().encode()}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        # Drop the characters that also depend on the bytes before and after.
        start = (shift * 4 + 2) // 3 + (1 if shift else 0)
        inner = encoded[start : len(encoded) - 4]
        forms[f"base64+{shift}"] = inner
        forms[f"base64url+{shift}"] = inner.replace(b"+", b"-").replace(b"/", b"_")
    return forms


@dataclass
class Findings:
    """Where the marker was found: place -> encoding names."""

    places: dict[str, set[str]] = field(default_factory=dict)
    scanned: dict[str, int] = field(default_factory=dict)  # kind -> how many scanned

    def add(self, place: str, form: str) -> None:
        self.places.setdefault(place, set()).add(form)

    def count(self, kind: str, n: int = 1) -> None:
        self.scanned[kind] = self.scanned.get(kind, 0) + n


def scan_bytes(data: bytes, marker: str, place: str, findings: Findings) -> None:
    for form, needle in encodings(marker).items():
        if needle in data:
            findings.add(place, form)


def scan_mail(raw: bytes, marker: str, place: str, findings: Findings) -> None:
    """The raw message, and each MIME part decoded (base64, quoted-printable)."""
    scan_bytes(raw, marker, place, findings)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for index, part in enumerate(message.walk()):
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            scan_bytes(payload, marker, f"{place} part {index} ({part.get_content_type()})", findings)
    for key, value in message.items():
        scan_bytes(str(value).encode("utf-8", "replace"), marker, f"{place} header {key}", findings)


def scan_tree(folder: Path, marker: str, findings: Findings, *, kind: str = "file") -> list[Path]:
    files = [p for p in sorted(folder.rglob("*")) if p.is_file()]
    for path in files:
        scan_bytes(path.read_bytes(), marker, str(path), findings)
        findings.count(kind)
    return files


def scan_postgres(engine: Engine, marker: str, findings: Findings) -> int:
    """Every row of every table of every schema, as JSON text (bytea as hex)."""
    rows = 0
    with engine.connect() as conn:
        tables = conn.execute(text(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )).all()
        for schema, table in tables:
            for (row,) in conn.execute(text(f'SELECT row_to_json(t)::text FROM "{schema}"."{table}" t')):
                rows += 1
                scan_bytes(row.encode(), marker, f"postgres {schema}.{table}", findings)
            findings.count("postgres table")
    findings.count("postgres row", rows)
    return rows
