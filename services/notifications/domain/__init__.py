"""Pure logic of the notifications service: no gRPC, no SQL, no network."""
