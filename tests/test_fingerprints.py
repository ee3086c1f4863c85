"""The compact fingerprint set answers as a Python set of the same ints would."""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st

from leastpriv_ci.fingerprints import Fingerprints

HASHES = st.integers(min_value=-sys.maxsize - 1, max_value=sys.maxsize)


@given(st.lists(HASHES, max_size=3000), st.lists(HASHES, max_size=200))
def test_members_are_found_and_others_are_not(added: list[int], asked: list[int]) -> None:
    table = Fingerprints()
    for fingerprint in added:
        table.add(fingerprint)
    assert len(table) == len({fingerprint or 1 for fingerprint in added})  # 0 is kept as 1
    for fingerprint in added:
        assert fingerprint in table
    for fingerprint in asked:
        if fingerprint not in added and fingerprint not in (0, 1):
            assert fingerprint not in table


def test_it_grows_past_its_first_size_and_keeps_every_member() -> None:
    table = Fingerprints()
    # past 32k members it grows; keys alike in their low bits probe past each other
    keys = [hash(("1-x", str(n))) for n in range(40_000)] + [1 << 20 * n for n in range(1, 4)]
    for key in keys:
        table.add(key)
        table.add(key)  # a second add is no new member
    assert len(table) == len(set(keys))
    assert all(key in table for key in keys)
    assert 1 << 20 not in Fingerprints()


def test_zero_is_a_fingerprint_like_any_other() -> None:
    table = Fingerprints()
    assert 0 not in table
    table.add(0)
    assert 0 in table
    assert len(table) == 1
