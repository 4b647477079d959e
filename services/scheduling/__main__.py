from services.core.main import run_service

raise SystemExit(run_service("scheduling"))
