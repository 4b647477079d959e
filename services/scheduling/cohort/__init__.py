"""Cohort scheduling (issue 7): place a whole hiring wave at once, better than one by one.

Pure parts (no gRPC, no SQL): `ledger` (what a set of plans reserves), `greedy` (the
arrival-order baseline), `options` (candidate plans per entry from the single-loop search),
`solver` (the CP-SAT model over those options), `engine` (greedy, options, solve, within a time
limit and cancellable) and `validate` (an independent check of a whole assignment).
Service side: `protos` (mapping), `store` (where runs live) and `runs` (`CohortRuns`, what the
servicer calls).
"""
