"""frozen_heap: the objects that exist before a load are left out of garbage collections
while it runs.

A full collection walks every tracked object. Under pytest that is the whole session's heap
(modules, collected items, fixtures), and at high concurrency one such collection fell inside
the measured requests: 50-100 ms during which no chunk is read, landing in TTFT/ITL as harness
error (`python -m benchmarks.fidelity --levels 256`). Frozen (`gc.freeze`), those objects are
skipped; what the load itself allocates is collected as usual. Loads may overlap in one process
(two `load()` calls gathered), so the heap is unfrozen when the last of them ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze the current heap for the duration (nested and concurrent uses share one freeze)."""
    global _holders
    with _lock:
        if _holders == 0:
            gc.freeze()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                gc.unfreeze()
