"""cnncalc/_gc.py: the collector paused for an analysis pass, or kept off the objects a call began with."""

from __future__ import annotations

import gc
import weakref

from cnncalc._gc import gc_frozen, gc_paused


class _Node:
    """A cycle's member: reference counting alone never frees it."""

    def __init__(self) -> None:
        self.other = self


def test_paused_turns_the_collector_off_and_back_on():
    seen = []
    gc_paused(lambda: seen.append(gc.isenabled()))()
    assert seen == [False] and gc.isenabled()


def test_paused_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        gc_paused(lambda: None)()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_frozen_skips_the_objects_that_existed_and_hands_them_back():
    before = _Node()
    before_ref = weakref.ref(before)
    inside = {}

    @gc_frozen
    def call():
        inside["frozen"] = gc.get_freeze_count()
        made = _Node()                      # a cycle made during the call is still collected
        made_ref = weakref.ref(made)
        del made
        gc.collect()
        inside["made_freed"] = made_ref() is None
        return "result"

    assert gc.get_freeze_count() == 0
    assert call() == "result"
    assert inside["frozen"] > 0 and inside["made_freed"]
    assert gc.get_freeze_count() == 0       # unfrozen afterwards
    del before
    gc.collect()
    assert before_ref() is None             # the earlier cycle is collectable again


def test_frozen_unfreezes_after_an_error():
    @gc_frozen
    def fails():
        raise ValueError("x")

    try:
        fails()
    except ValueError:
        pass
    assert gc.get_freeze_count() == 0


def test_frozen_leaves_a_callers_freeze_alone():
    gc.freeze()
    try:
        count = gc.get_freeze_count()
        gc_frozen(lambda: None)()
        assert gc.get_freeze_count() == count       # not unfrozen: those are the caller's
    finally:
        gc.unfreeze()
