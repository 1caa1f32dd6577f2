"""python-libprio's `prio` package on libprio_ctypes: `prio.libprio` (function API),
`prio.prio` (object API), `prio.cli.commands` (its command line) and `PrioContext`."""

from contextlib import ContextDecorator

from . import libprio


class PrioContext(ContextDecorator):
    """Brackets code with Prio_init/Prio_clear, as python-libprio required (a no-op here:
    nothing needs setting up, so code inside and outside the context behaves the same)."""

    def __enter__(self):
        libprio.Prio_init()
        return self

    def __exit__(self, *exc):
        libprio.Prio_clear()
        return False


__all__ = ["PrioContext", "libprio"]
