"""A set of 64-bit fingerprints in 16 to 64 bytes each, so remembering every trace stays small.

A Python ``set`` of ints costs about 80 bytes a member (the int object and its slot), which
is 16 MB for 200k traces; this table keeps the fingerprints themselves, unboxed, in an
``array`` at most half full. Fingerprints are ``hash()`` values: Python randomizes the
hash of text per process, so input cannot be crafted to collide with another trace's, nor
to crowd one run of slots (linear probing's weakness with keys alike in their low bits).
"""

from __future__ import annotations

from array import array

_EMPTY = 0  # a free slot; a fingerprint of 0 is stored as 1 (one more chance of collision)
_FIRST_SIZE = 1 << 16  # slots (512 KiB), a power of two: no growing below 32k members


class Fingerprints:
    """Open addressing, linear probing, grown fourfold when half full (each member is
    probed into the new table by Python code: growing fourfold rehashes a third as many)."""

    __slots__ = ("_mask", "_slots", "_used")

    def __init__(self) -> None:
        self._slots = array("q", [_EMPTY]) * _FIRST_SIZE
        self._mask = _FIRST_SIZE - 1
        self._used = 0

    def __len__(self) -> int:
        return self._used

    def __contains__(self, fingerprint: int) -> bool:
        key = fingerprint or 1
        return self._slots[self._slot(key)] == key

    def add(self, fingerprint: int) -> bool:
        """Remember ``fingerprint`` (a ``hash()`` value, 64 signed bits); whether it is new."""
        key = fingerprint or 1
        slots, mask = self._slots, self._mask
        index = key & mask  # _slot, inlined: every trace read adds one or more
        while (found := slots[index]) != _EMPTY:
            if found == key:
                return False
            index = (index + 1) & mask
        slots[index] = key
        self._used += 1
        if 2 * self._used > len(slots):
            self._grow()
        return True

    def _slot(self, key: int) -> int:
        """Where ``key`` is, or the free slot where it goes."""
        slots, mask = self._slots, self._mask
        index = key & mask
        while (found := slots[index]) != _EMPTY and found != key:
            index = (index + 1) & mask
        return index

    def _grow(self) -> None:
        old = self._slots
        # repeated, not built from a bytes object: no second copy of the new table at
        # its largest moment
        self._slots = slots = array("q", [_EMPTY]) * (4 * len(old))
        self._mask = 4 * len(old) - 1
        for key in filter(None, old):  # the members: a free slot is 0
            slots[self._slot(key)] = key
