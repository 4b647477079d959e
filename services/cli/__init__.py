"""The `interviews` command line: talks to the services over gRPC only."""
