"""Pure scheduling logic: the loop search and plan validation (no gRPC, no SQL)."""
