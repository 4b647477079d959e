"""Benchmarks, run with `python -m bench` (`make bench`): printed figures, no timed asserts."""
