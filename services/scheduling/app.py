"""Builds the scheduling service from Settings: database, directory cache,
accommodation constraints, the servicer (with cohort runs), the outbox relay
to notifications and the hold-expiry sweeper."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import grpc

from interviews.scheduling.v1 import scheduling_pb2, scheduling_pb2_grpc
from services.core.clients import ServiceClients
from services.core.config import Settings
from services.core.db import Database, utcnow
from services.core.outbox import OutboxRelay
from services.core.server import ServiceSpec
from services.scheduling import convert_plans, invites, models
from services.scheduling.booking import Booking
from services.scheduling.cohort.loading import make_loader
from services.scheduling.cohort.runs import CohortRuns
from services.scheduling.cohort.store import SqlRunStore
from services.scheduling.constraints_source import AccommodationsConstraints, ConstraintsSource
from services.scheduling.planning import Policy
from services.scheduling.searching import Searching
from services.scheduling.servicer import SchedulingServicer
from services.scheduling.store.search_world import SearchWorlds
from services.scheduling.store.snapshot import DirectoryCache
from services.scheduling.sweeper import HoldSweeper

SERVICE_NAME = scheduling_pb2.DESCRIPTOR.services_by_name["SchedulingService"].full_name


def build(
    settings: Settings,
    *,
    constraints: ConstraintsSource | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> ServiceSpec:
    """`constraints` and `clock` are injectable for tests; production uses the
    accommodations service and the system clock."""
    db = Database(settings.database_url("scheduling"), "scheduling")
    clients = ServiceClients(settings, "scheduling")
    directories = DirectoryCache()
    policy = Policy.from_settings(settings)
    booking = Booking(directories, policy)
    worlds = SearchWorlds(directories, max_age=float(settings.get("SCHEDULING_SEARCH_STALENESS_SECONDS", "1")),
                          min_notice=policy.min_notice, horizon=policy.horizon)
    db.after_write(worlds.invalidate)
    relay = OutboxRelay(
        db,
        models.OutboxMessage,
        invites.relay_handlers(clients),
        poll_interval=float(settings.get("SCHEDULING_OUTBOX_POLL_SECONDS", "0.5")),
        name="scheduling-outbox",
    )
    source = constraints or AccommodationsConstraints(clients)
    servicer = SchedulingServicer(db, booking, Searching(worlds, directories, policy), source, clock, after_write=relay.wake)
    servicer.cohorts = CohortRuns(
        SqlRunStore(db),
        make_loader(db, booking.cache, booking.policy, lambda cid: convert_plans.constraints(source.fetch(f"candidates/{cid}")), clock),
        clock=clock,
    )
    sweeper = HoldSweeper(db, booking, clock, interval=float(settings.get("SCHEDULING_HOLD_SWEEP_SECONDS", "30")))

    def register(server: grpc.Server) -> None:
        scheduling_pb2_grpc.add_SchedulingServiceServicer_to_server(servicer, server)

    def close() -> None:
        servicer.cohorts.close()  # running cohort searches are stored as cancelled
        clients.close()
        db.dispose()

    return ServiceSpec(name="scheduling", service_names=[SERVICE_NAME], register=register, workers=[relay, sweeper], on_close=close)
