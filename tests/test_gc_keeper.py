"""The garbage-collector keeper: survivors leave the collector's scans, nothing cyclic is kept for good."""

import gc
import os
import weakref

import pytest

from eventonight.kernel.gc_keeper import _TRIM, GcKeeper
from eventonight.kernel.testing import wait_until
from eventonight.settings import Settings


class Node:
    def __init__(self) -> None:
        self.other = self  # a reference cycle: only the cyclic collector frees it


def scanned(thing) -> bool:
    """Whether the collector's generations hold ``thing`` (a frozen object is in none)."""
    return any(o is thing for generation in range(3) for o in gc.get_objects(generation))


@pytest.fixture
def restored_gc():
    yield
    gc.unfreeze()  # the test process's collector as the other tests expect it
    gc.collect()


def test_defaults_are_the_documented_ones():
    # README's settings table states these.
    defaults = Settings()
    assert (defaults.gc_freeze_seconds, defaults.gc_full_seconds) == (5.0, 3600.0)


def test_a_turn_freezes_survivors_and_collects_cyclic_garbage_first(restored_gc):
    keeper = GcKeeper(freeze_seconds=5, full_seconds=3600)
    kept, dropped = Node(), Node()
    dropped_ref = weakref.ref(dropped)
    del dropped
    assert scanned(kept)
    keeper.turn()
    assert dropped_ref() is None, "garbage of the period is collected, not frozen"
    assert not scanned(kept), "a survivor is out of the collector's scans"
    assert gc.get_freeze_count() > 0


def test_cycles_that_became_garbage_after_their_freeze_go_at_the_next_full_pass(restored_gc):
    keeper = GcKeeper(freeze_seconds=5, full_seconds=60)
    start = keeper._last_full
    node = Node()
    ref = weakref.ref(node)
    keeper.turn(start + 1)  # frozen while alive
    del node
    keeper.turn(start + 2)
    gc.collect()
    assert ref() is not None, "frozen cycles are not scanned by ordinary collections"
    keeper.turn(start + 61)  # the full pass is due
    assert ref() is None
    assert gc.get_freeze_count() > 0, "and the survivors are frozen again"


async def test_a_server_process_runs_the_keeper_with_its_settings(platform, settings, restored_gc):
    p = await platform(settings_override=settings.model_copy(update={"gc_freeze_seconds": 0.2}))
    node = Node()
    assert scanned(node)
    # Frozen by the keeper's turns after startup (scanning all generations is slow: poll gently).
    await wait_until(lambda: not scanned(node), timeout=10, interval=0.3)
    assert p.kernel.settings.gc_freeze_seconds == 0.2


def _resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(_TRIM is None, reason="only glibc can hand back pages below live blocks")
def test_a_turn_hands_back_the_heap_a_burst_freed(restored_gc):
    burst = [bytes(4000) for _ in range(25_000)]  # ~100 MB of C heap, as a burst of requests leaves
    survivor = bytes(4000)  # allocated last: glibc's own trimming returns only the heap's top
    del burst
    before = _resident_mb()
    GcKeeper(freeze_seconds=5, full_seconds=3600).turn()
    after = _resident_mb()
    assert before - after > 50, f"resident {before:.0f} MB -> {after:.0f} MB"
    assert len(survivor) == 4000
