"""The small core shared by every service: configuration, database, auth,
errors, the gRPC server bootstrap and the patterns (pagination, idempotency,
outbox) that every service uses the same way."""
