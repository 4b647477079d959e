"""The fuzzing fleet: the three services in process on fresh SQLite databases,
a small real world built through their APIs, and pools of names, etags and
page tokens harvested from real responses.

FUZZ_EXAMPLES is the number of fuzzed requests per service (split evenly over
its RPCs); `make fuzz` sets 10,000, `make test` runs the default below. The
short run is derandomized so `make test` tries the same requests every time;
the long run explores (hypothesis prints the seed of any failure).
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from services.core.config import SERVICES
from tests.hardening_support import invariants
from tests.hardening_support.fleet import (
    InProcessFleet,
    base_env,
    metadata,
    sqlite_urls,
)
from tests.hardening_support.harness import Caller, Tally
from tests.hardening_support.rpcs import rpcs
from tests.hardening_support.strategies import Pools, RequestStrategies
from tests.hardening_support.world import (
    COORDINATOR,
    RECRUITER,
    Clients,
    World,
    build_world,
)

DEFAULT_EXAMPLES = 300
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or DEFAULT_EXAMPLES)
LONG_RUN = FUZZ_EXAMPLES > DEFAULT_EXAMPLES
# Requests and answers per backend, printed at the end of the run.
TALLIES: dict[str, Tally] = {}

# The callers most requests come from, per service: the roles that pass its
# authorization, so the fuzzed fields reach validation and the code behind it.
POWER = {
    "scheduling": ("recruiter", "admin"),
    "accommodations": ("coordinator", "candidate-own"),
    "notifications": ("service-scheduling", "service-accommodations"),
}


def per_rpc_examples(service: str) -> int:
    return max(3, math.ceil(FUZZ_EXAMPLES / len(rpcs(service))))


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=not LONG_RUN,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


@dataclass
class FuzzContext:
    fleet: InProcessFleet
    world: World
    pools: Pools
    strategies: RequestStrategies
    caller: Caller
    identities: dict[str, tuple[tuple[str, str], ...]]
    engines: dict[str, Engine] = field(default_factory=dict)
    backend: str = "sqlite"

    def identity_strategy(self, service: str) -> st.SearchStrategy[tuple[str, tuple[tuple[str, str], ...]]]:
        labels = sorted(self.identities) + [label for label in POWER[service] for _ in range(4)]
        return st.sampled_from(labels).map(lambda label: (label, self.identities[label]))

    def problems(self, service: str) -> list[str]:
        return invariants.check(service, self.engines[service], keys=self.fleet.env["ACCOMMODATIONS_ENCRYPTION_KEYS"])


def _identities(world: World) -> dict[str, tuple[tuple[str, str], ...]]:
    return {
        "admin": metadata("admin", "admin@example.com"),
        "recruiter": metadata("recruiter", RECRUITER),
        "coordinator": metadata("coordinator", COORDINATOR),
        "auditor": metadata("auditor", "auditor@example.com"),
        "interviewer": metadata("interviewer", world.interviewer_emails[0]),
        "candidate-own": metadata("candidate", world.candidates[0]),
        "candidate-other": metadata("candidate", "candidates/nobody"),
        "service-scheduling": metadata("service", "services/scheduling"),
        "service-accommodations": metadata("service", "services/accommodations"),
        "service-recruiting": metadata("service", "services/recruiting"),
        "service-unknown": metadata("service", "services/unknown"),
    }


def _seed_pools(ctx: FuzzContext) -> None:
    """Real names and messages from the world, and page tokens of every list."""
    w = ctx.world
    for message in [*w.loops, *w.plans, *w.tickets.values()]:
        ctx.pools.harvest(message)
    for name in [*w.interviewers, *w.rooms, *w.candidates, *w.templates, *w.holds, *w.deliveries, "offices/los-gatos", "offices/los-angeles"]:
        ctx.pools.add("name", name)
    first_ticket = next(iter(w.tickets), "tickets/x")
    parents = {"ListRooms": "offices/-", "ListBusyBlocks": w.interviewers[0], "ListMessages": first_ticket}
    for service in SERVICES:
        for rpc in rpcs(service):
            if "page_size" not in rpc.input.fields_by_name:
                continue
            request = rpc.request_class(page_size=1)
            if rpc.name in parents:
                request.parent = parents[rpc.name]  # type: ignore[attr-defined]
            for label in ("admin", "recruiter", "coordinator", "candidate-own", "service-scheduling"):
                ctx.caller.call(rpc, request, ctx.identities[label])


def _postgres_urls(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """A database of the fuzz session's own, copied from the migrated template."""
    server = request.getfixturevalue("postgres_server_url")
    template = request.getfixturevalue("postgres_template")
    name = f"ifuzz_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        yield {service: url for service in SERVICES}
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fuzz(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzContext]:
    """The fleet on SQLite, then again on PostgreSQL (every fuzz test runs on both)."""
    folder = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "postgresql":
        postgres = _postgres_urls(request)
        urls = next(postgres)
    else:
        postgres = None
        urls = sqlite_urls(folder, request.getfixturevalue("sqlite_templates"))
    try:
        yield from _fleet(folder, urls, request.param)
    finally:
        if postgres is not None:
            postgres.close()


def _fleet(folder: Path, urls: dict[str, str], backend: str) -> Iterator[FuzzContext]:
    env = base_env(folder / "data", urls, extra={
        # A valid organizer address: the embedded default is refused by
        # notifications (reported separately, tests/fuzz/test_cross_service.py).
        "MAIL_FROM": "scheduling@interviews.example.com",
        "ACCOMMODATIONS_COORDINATOR_EMAILS": "coordinator@example.com",
    })
    fleet = InProcessFleet(env).start()
    engines = {s: invariants.engine_for(urls[s], s) for s in SERVICES}
    try:
        world = build_world(Clients.over(fleet.channels), prefix="fz")
        pools = Pools()
        tally = TALLIES.setdefault(backend, Tally())
        ctx = FuzzContext(fleet, world, pools, RequestStrategies(pools), Caller(fleet.channels, pools, tally=tally),
                          _identities(world), engines, backend)
        _seed_pools(ctx)
        yield ctx
    finally:
        fleet.stop()
        for engine in engines.values():
            engine.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLIES:
        return
    terminalreporter.section(f"fuzz: requests per service (FUZZ_EXAMPLES={FUZZ_EXAMPLES})")
    for backend, tally in TALLIES.items():
        for line in tally.lines():
            terminalreporter.write_line(f"[{backend}] {line}")
