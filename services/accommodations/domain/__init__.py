"""Pure accommodation logic: no gRPC, no SQL. Every rule here is testable on its own."""
