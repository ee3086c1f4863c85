"""The garbage-collector helpers: paused while loading, the old heap left out while streaming."""
from __future__ import annotations

import gc
import weakref

import pytest

from leastpriv_ci.collector import paused_gc, settled_heap


def test_gc_is_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # only the outermost pause resumes
    assert gc.isenabled()
    with pytest.raises(ValueError), paused_gc():
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # a collector turned off by the caller stays off
    finally:
        gc.enable()


class _Node:
    def __init__(self) -> None:
        self.other: object = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_the_heap_is_frozen_inside_and_thawed_after() -> None:
    before = object(), [1, 2]
    assert gc.get_freeze_count() == 0
    with settled_heap():
        assert gc.get_freeze_count() > 0  # what existed is left out of collections
        assert not any(o is before for o in gc.get_objects())
        made_inside = _cycle()
        gc.collect()
        assert made_inside() is None  # a cycle made while streaming is still collected
    assert gc.get_freeze_count() == 0
    assert any(o is before for o in gc.get_objects())
    with pytest.raises(ValueError), settled_heap():
        raise ValueError
    assert gc.get_freeze_count() == 0


def test_someone_elses_freeze_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    gc.freeze()
    try:
        calls: list[str] = []
        monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
        monkeypatch.setattr(gc, "unfreeze", lambda: calls.append("unfreeze"))
        with settled_heap():
            assert gc.get_freeze_count() > 0
        assert calls == []  # neither frozen again nor thawed by us
        assert gc.get_freeze_count() > 0
        # (counts are not compared: a frozen object freed meanwhile lowers the count)
    finally:
        monkeypatch.undo()
        gc.unfreeze()
