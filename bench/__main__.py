"""Run every benchmark module of this package: each `*_bench.py` module's `main()`.

Modules are found by name so that a new benchmark only has to be dropped in. Optional
arguments are module name prefixes: `python -m bench search` runs only `search_bench`.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main(argv: list[str]) -> int:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(bench.__path__)
        if info.name.endswith("_bench") and (not argv or any(info.name.startswith(f) for f in argv))
    )
    if not names:
        print(f"no benchmark module matches {argv}", file=sys.stderr)
        return 1
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        print(f"== bench.{name}", flush=True)
        module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
