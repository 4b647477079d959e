"""What must hold in each service's database whatever requests arrived.

Read straight from the tables (the tests' view, not the service's), so a
service bug cannot hide itself. Each check returns a list of violations
(empty when all is well) so a failure names every broken row at once.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from services.core.db import create_engine_for


def engine_for(url: str, service: str) -> Engine:
    if url.startswith("sqlite"):
        return create_engine(url)
    return create_engine_for(url, service, pool_size=1, max_overflow=0)


def _aware(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def sqlite_integrity(engine: Engine) -> list[str]:
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as conn:
        problems = [row[0] for row in conn.execute(text("PRAGMA integrity_check")) if row[0] != "ok"]
        problems += [f"foreign key broken: {tuple(row)}" for row in conn.execute(text("PRAGMA foreign_key_check"))]
    return problems


def scheduling(engine: Engine) -> list[str]:
    """No two active reservations of one resource overlap (holds past their
    expiry excepted); a booked loop holds a reservation for each of its
    sessions' resources; a cancelled loop holds none."""
    problems = sqlite_integrity(engine)
    now = datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, resource, owner, start_time, end_time, expire_time FROM reservations WHERE active"
        )).all()
        loops = conn.execute(text("SELECT id, state FROM loops")).all()
        sessions = conn.execute(text("SELECT id, loop_id, interviewer_ids, room_id, remote FROM loop_sessions")).all()
        candidates = {row.id: row.candidate_id for row in conn.execute(text("SELECT id, candidate_id FROM loops"))}
    by_resource: dict[str, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    owners: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        owners[row.owner].add(row.resource)
        expire = _aware(row.expire_time)
        if expire is not None and expire <= now:
            continue
        start, end = _aware(row.start_time), _aware(row.end_time)
        if start is None or end is None or end <= start:
            problems.append(f"reservation {row.id} of {row.resource} has an empty or reversed range {start}..{end}")
            continue
        by_resource[row.resource].append((start, end, row.owner))
    for resource, spans in by_resource.items():
        spans.sort()
        for (s1, e1, o1), (s2, e2, o2) in pairwise(spans):
            if s2 < e1:
                problems.append(f"{resource} double-booked: {o1} {s1}..{e1} overlaps {o2} {s2}..{e2}")
    booked = {row.id for row in loops if row.state == 1}
    cancelled = {row.id for row in loops if row.state == 2}
    for loop_id in cancelled:
        if owners.get(f"loops/{loop_id}"):
            problems.append(f"cancelled loops/{loop_id} still holds {sorted(owners[f'loops/{loop_id}'])}")
    for session in sessions:
        if session.loop_id not in booked:
            continue
        held = owners.get(f"loops/{session.loop_id}", set())
        interviewer_ids = session.interviewer_ids if isinstance(session.interviewer_ids, list) else json.loads(session.interviewer_ids)
        needed = {f"interviewers/{i}" for i in interviewer_ids} | {f"candidates/{candidates[session.loop_id]}"}
        if session.room_id:
            needed.add(session.room_id)
        missing = needed - held
        if missing:
            problems.append(f"booked loops/{session.loop_id} session {session.id} lacks reservations for {sorted(missing)}")
    return problems


ENCRYPTED_COLUMNS = {"tickets": ("reason_ct", "decision_text_ct"), "ticket_messages": ("body_ct",)}


def accommodations(engine: Engine, keys: str) -> list[str]:
    """Every confidential column holds a Fernet token that the configured keys open."""
    problems = sqlite_integrity(engine)
    cipher = MultiFernet([Fernet(k.encode()) for k in keys.split(",") if k.strip()])
    with engine.connect() as conn:
        for table, columns in ENCRYPTED_COLUMNS.items():
            for column in columns:
                for row_id, value in conn.execute(text(f"SELECT id, {column} FROM {table}")):
                    if value is None:
                        continue
                    raw = bytes(value)
                    try:
                        cipher.decrypt(raw)
                    except InvalidToken:
                        problems.append(f"{table}.{column} of {row_id} is not ciphertext under the configured keys: {raw[:40]!r}")
    return problems


def notifications(engine: Engine) -> list[str]:
    """Every delivery has a recipient and a Message-ID; no idempotency key
    produced two deliveries to one recipient."""
    problems = sqlite_integrity(engine)
    with engine.connect() as conn:
        for row in conn.execute(text("SELECT id, recipient, message_id, state FROM deliveries")):
            if not row.recipient or "@" not in row.recipient:
                problems.append(f"delivery {row.id} has no recipient ({row.recipient!r})")
            if not row.message_id:
                problems.append(f"delivery {row.id} has no Message-ID")
            if row.state not in ("pending", "sent", "failed"):
                problems.append(f"delivery {row.id} is in unknown state {row.state!r}")
        for row in conn.execute(text(
            "SELECT idempotency_key, recipient, COUNT(*) AS n FROM deliveries GROUP BY idempotency_key, recipient HAVING COUNT(*) > 1"
        )):
            problems.append(f"{row.n} deliveries for key {row.idempotency_key!r} to {row.recipient}")
    return problems


def check(service: str, engine: Engine, *, keys: str = "") -> list[str]:
    if service == "scheduling":
        return scheduling(engine)
    if service == "accommodations":
        return accommodations(engine, keys)
    return notifications(engine)


def failed_outbox(engine: Engine) -> list[tuple[str, str]]:
    """(topic, last_error) of outbox messages given up on."""
    with engine.connect() as conn:
        return [(r.topic, r.last_error or "") for r in conn.execute(text(
            "SELECT topic, last_error FROM outbox_messages WHERE failed_time IS NOT NULL"))]
