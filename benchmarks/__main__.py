"""`python -m benchmarks [SUITE ...] [--quick]`: run the suites and print Markdown tables.

A suite is a module of this package with `run(quick: bool) -> list[Table]` and, if it needs
something that may be missing (an emulator, ...), `unavailable() -> str | None` giving why it
cannot run here. Add a suite by adding its module to SUITES.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time

from benchmarks.timing import cpu_model, pin_to_one_core

SUITES = {
    "core": "benchmarks.core",  # the batch API per report
    "keyring": "benchmarks.keyring",  # the load per report with 1, 2 and 3 private keys
    "cli": "benchmarks.cli",  # the `prio` command per report
    "streaming": "benchmarks.streaming",  # end to end through the emulators, both servers
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "suites",
        nargs="*",
        choices=[[], *SUITES],
        metavar="SUITE",
        help=f"suites to run (default: all available): {', '.join(SUITES)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer reports and repeats: a smoke run of a few seconds",
    )
    args = parser.parse_args(argv)
    chosen = args.suites or list(SUITES)
    pinned = pin_to_one_core()
    print(
        f"prio-stream benchmarks{' (quick)' if args.quick else ''}: {cpu_model()}, "
        f"Python {platform.python_version()}, {pinned}\n",
        flush=True,
    )
    for name in chosen:
        suite = importlib.import_module(SUITES[name])
        reason = getattr(suite, "unavailable", lambda: None)()
        if reason:
            print(f"### {name}: skipped ({reason})\n", flush=True)
            continue
        start = time.perf_counter()
        for table in suite.run(quick=args.quick):
            print(table.markdown(), flush=True)
        print(f"({name}: {time.perf_counter() - start:.0f} s)\n", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
