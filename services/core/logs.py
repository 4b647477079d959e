"""Structured JSON logs on stdout, one object per line.

The request context (request id, method, principal) is added to every record
made while a call is handled. Callers log identifiers and outcomes only: never
request bodies, reasons, notes or email text.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
method_var: ContextVar[str | None] = ContextVar("rpc_method", default=None)
principal_var: ContextVar[str | None] = ContextVar("principal", default=None)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("request_id", request_id_var), ("method", method_var), ("principal", principal_var)):
            value = var.get()
            if value:
                entry[key] = value
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)

    def formatException(self, exc_info) -> str:  # type: ignore[no-untyped-def]
        """A database error's message carries row values (PostgreSQL's DETAIL
        repeats the failing row: names, emails, ciphertext), so for those only
        the type, the SQLSTATE and the stack are logged."""
        _, error, tb = exc_info
        if isinstance(error, DBAPIError):
            sqlstate = getattr(error.orig, "sqlstate", None) or "?"
            frames = "".join(traceback.format_tb(tb))
            return f"Traceback (most recent call last):\n{frames}{type(error).__name__}: {type(error.orig).__name__} (SQLSTATE {sqlstate}; message withheld: it may hold row values)"
        return super().formatException(exc_info)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
