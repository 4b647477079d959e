"""Shared pieces of the hardening suites (tests/fuzz, tests/security, tests/chaos):
descriptor-driven request strategies, the RPC harness, service fleets and a mail sink."""
