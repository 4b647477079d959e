"""`python -m services.notifications`: migrate, then serve."""

from services.core.main import run_service

raise SystemExit(run_service("notifications"))
