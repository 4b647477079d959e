"""`python -m services.<name>`: configure logging, migrate, serve."""

from __future__ import annotations

import importlib
import logging

from services.core.config import Settings
from services.core.logs import configure_logging
from services.core.migrate import upgrade
from services.core.server import ServiceSpec, serve

log = logging.getLogger(__name__)


def build_spec(service: str, settings: Settings) -> ServiceSpec:
    """Each service's `app.build(settings)` returns what the bootstrap serves."""
    app = importlib.import_module(f"services.{service}.app")
    return app.build(settings)


def run_service(service: str) -> int:
    settings = Settings.from_env()
    configure_logging(service, settings.log_level)
    if settings.get("INTERVIEWS_SKIP_MIGRATIONS") not in ("1", "true", "yes"):
        upgrade(service, settings.database_url(service))
        log.info("migrated")
    return serve(build_spec(service, settings), settings)
