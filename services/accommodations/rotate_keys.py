"""Re-encrypts every confidential value under the current (first) key.

    ACCOMMODATIONS_ENCRYPTION_KEYS=<new>,<old> python -m services.accommodations.rotate_keys

Runs in batches, one transaction each, so it can run beside a live service and be
resumed; values already under the current key are left alone. When it reports zero
remaining, the old key can be dropped from the variable.
"""

from __future__ import annotations

import sys

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accommodations.crypto import KEYS_VARIABLE, TextCipher, load_keys
from services.accommodations.models import MessageRow, TicketRow
from services.core.config import Settings
from services.core.db import Database

BATCH = 200


def _rotate_batch(session: Session, cipher: TextCipher, model: type, columns: tuple[str, ...], after: str) -> tuple[int, str | None]:
    rows = session.scalars(select(model).where(model.id > after).order_by(model.id).limit(BATCH)).all()
    changed = 0
    for row in rows:
        for column in columns:
            value = getattr(row, column)
            if value is not None and not cipher.is_current(value):
                setattr(row, column, cipher.rotate(value))
                changed += 1
    return changed, (rows[-1].id if len(rows) == BATCH else None)


def rotate_all(db: Database, cipher: TextCipher) -> int:
    """Re-encrypts old ciphertexts; returns how many values changed."""
    total = 0
    for model, columns in ((TicketRow, ("reason_ct", "decision_text_ct")), (MessageRow, ("body_ct",))):
        after: str | None = ""
        while after is not None:
            cursor = after
            changed, after = db.run(lambda s, c=cursor: _rotate_batch(s, cipher, model, columns, c))
            total += changed
    return total


def main() -> int:
    settings = Settings.from_env()
    cipher = TextCipher(load_keys(settings.get(KEYS_VARIABLE), settings.data_dir))
    db = Database(settings.database_url("accommodations"), "accommodations")
    try:
        print(f"re-encrypted {rotate_all(db, cipher)} values under the current key")
    finally:
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
