"""`make run`: the three services as separate processes, stopped together.

Ctrl-C (or SIGTERM) is passed on to every service, which reports NOT_SERVING
and drains; a service that has not stopped after the grace period is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from services.core.config import SERVICES, Settings

STOP_TIMEOUT_SECONDS = 10


def main() -> int:
    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.token_secret  # create the shared secret once, before three processes race for it
    env = dict(os.environ, INTERVIEWS_DATA_DIR=str(settings.data_dir), PYTHONUNBUFFERED="1")
    children = {
        name: subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=env)
        for name in SERVICES
    }
    print(
        "\n".join(
            [
                f"interviews: data in {settings.data_dir}",
                *(f"  {name:<15} {settings.listen_host}:{settings.ports[name]}  (pid {p.pid})" for name, p in children.items()),
                "  a token for the CLI: .venv/bin/interviews token issue --role recruiter --subject you@example.com",
                "  mail without SMTP_HOST goes to " + str(settings.mail_dir),
                "Ctrl-C stops all three.",
            ]
        ),
        flush=True,
    )
    stopping = False

    def _stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"interviews: {name} exited with code {child.returncode}; stopping the others", file=sys.stderr, flush=True)
                exit_code = 1
                stopping = True
                break
        time.sleep(0.2)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for name, child in children.items():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"interviews: {name} did not stop in time; killing it", file=sys.stderr, flush=True)
            child.kill()
            child.wait()
            exit_code = 1
        if child.returncode not in (0, -signal.SIGTERM):
            exit_code = exit_code or 1
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
