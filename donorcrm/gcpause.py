"""Pausing Python's cyclic garbage collector around bulk work.

A statement import, a collection run or a receipts batch builds hundreds of thousands of small objects
without reference cycles; every few thousand allocations the collector would walk all of them again (a
third of a large run's time). Reference counting frees them as usual while it is paused; it is switched
back on, and catches up, afterwards. Usable as `with cycle_collection_paused():` or as a decorator.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collection_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
