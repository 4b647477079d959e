"""The accommodations service's own settings, read from the shared Settings' environment.

ACCOMMODATIONS_ENCRYPTION_KEYS      comma-separated Fernet keys, first encrypts (see crypto.py)
ACCOMMODATIONS_COORDINATOR_EMAILS   comma-separated addresses for new-ticket and SLA emails
ACCOMMODATIONS_SLA_TIME_ZONE        business-day zone (default America/Los_Angeles)
ACCOMMODATIONS_HOLIDAYS             comma-separated ISO dates that are not business days
ACCOMMODATIONS_SLA_AT_RISK_FRACTION share of a deadline's window left when it turns at risk (0.25)
ACCOMMODATIONS_SWEEP_INTERVAL_SECONDS how often the SLA sweeper runs (60)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.accommodations.crypto import KEYS_VARIABLE, TextCipher, load_keys
from services.accommodations.domain.business_time import DEFAULT_ZONE, BusinessCalendar
from services.accommodations.domain.sla import SlaPolicy
from services.core.config import Settings


def _split(raw: str | None) -> list[str]:
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


def _holidays(raw: str | None) -> list[date]:
    try:
        return [date.fromisoformat(item) for item in _split(raw)]
    except ValueError:
        raise ValueError("ACCOMMODATIONS_HOLIDAYS must be comma-separated YYYY-MM-DD dates") from None


@dataclass(frozen=True)
class AccommodationsSettings:
    cipher: TextCipher
    sla: SlaPolicy
    coordinator_emails: tuple[str, ...]
    sweep_interval_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> AccommodationsSettings:
        calendar = BusinessCalendar.of(
            settings.get("ACCOMMODATIONS_SLA_TIME_ZONE") or DEFAULT_ZONE,
            _holidays(settings.get("ACCOMMODATIONS_HOLIDAYS")),
        )
        fraction = float(settings.get("ACCOMMODATIONS_SLA_AT_RISK_FRACTION") or 0.25)
        return cls(
            cipher=TextCipher(load_keys(settings.get(KEYS_VARIABLE), settings.data_dir)),
            sla=SlaPolicy(calendar=calendar, at_risk_fraction=fraction),
            coordinator_emails=tuple(_split(settings.get("ACCOMMODATIONS_COORDINATOR_EMAILS"))),
            sweep_interval_seconds=float(settings.get("ACCOMMODATIONS_SWEEP_INTERVAL_SECONDS") or 60),
        )
