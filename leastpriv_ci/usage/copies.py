"""Which segments of a trace were counted before, so a trace read again counts once.

A trace is read again when exports of overlapping windows both hold it, or when one
export caught it in progress and a later one finished. X-Ray's unit is the segment: its id
is unique in the trace, and a completed copy supersedes an in-progress one. So, per segment:

- counted complete before: a copy, nothing in it is counted again;
- counted in progress before: its calls counted then (by subsegment id) are not counted
  again, the others are;
- never counted: counted in full.

Complete segments are remembered as 64-bit fingerprints (16 to 32 bytes each); a segment read
in progress keeps the ids of its calls counted until its completed copy comes, for at most
:data:`MAX_IN_PROGRESS` segments at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from leastpriv_ci.fingerprints import Fingerprints
from leastpriv_ci.usage.documents import Node

MAX_IN_PROGRESS = 10_000  # in-progress segments whose counted calls are remembered


@dataclass(slots=True)
class Repeat:
    """A read of a trace with a segment in progress, or one counted before."""

    # Counted complete before: nothing in them counts again
    copies: set[str] = field(default_factory=set)
    # In progress now, or counted in progress before: the ids of their calls counted
    calls: dict[str, set[str]] = field(default_factory=dict)
    # Read before (copies and continued segments): they add nothing to trace counts
    earlier: set[str] = field(default_factory=set)

    def counts(self, node: Node, segment_id: str) -> bool:
        """Whether the call ``node`` in document ``segment_id`` is counted now (and
        remember it if so). A call without an id is always counted: twice, never lost."""
        if segment_id in self.copies:
            return False
        calls = self.calls.get(segment_id)
        node_id = node.id
        if calls is None or type(node_id) is not str:
            return True
        if node_id in calls:
            return False
        calls.add(node_id)
        return True

    def fresh(self, docs: Mapping[str, Node]) -> list[str]:
        """The documents never read before."""
        return [segment_id for segment_id in docs if segment_id not in self.earlier]


def holds_calls(doc: Node) -> bool:
    """Whether calls can be counted from ``doc``: it has subsegments, or is one."""
    return bool(doc.subsegments) or doc.type == "subsegment"


class Counted:
    """The documents counted so far, across every trace read.

    Only documents holding calls (:func:`holds_calls`) are remembered: counting one twice
    is what a copy could do, and most traces hold one or two. The documents of a trace
    holding none are remembered apart, for its trace counts.
    """

    __slots__ = ("_complete", "_in_progress", "untracked")

    def __init__(self) -> None:
        self._complete = Fingerprints()
        self._in_progress: dict[int, set[str]] = {}
        self.untracked = 0  # in-progress segments past MAX_IN_PROGRESS: not remembered

    def repeat(self, trace_id: str, docs: Mapping[str, Node], held: list[str] | None = None,
               complete: bool = False) -> Repeat | None:
        """Sort the trace's documents and remember them as counted. ``None`` in the common
        case: every document holding calls new and complete, to be counted in full.

        ``held``: the ids of the documents holding calls, and ``complete``: none of them in
        progress, when the caller has found them already.
        """
        if held is None:
            held = [segment_id for segment_id, doc in docs.items() if holds_calls(doc)]
        if not held:
            # No calls to count, but a copy must not count in the trace counts either. Kept
            # apart from documents holding calls: this one may hold some when read again.
            add = self._complete.add
            earlier = {segment_id for segment_id in docs
                       if not add(hash((trace_id, segment_id, None)))}
            return Repeat(earlier=earlier) if earlier else None
        of_trace = hash(trace_id)
        if complete and not self._in_progress:  # the common case in one call
            add = self._complete.add
            copies: set[str] | None = None
            for segment_id in held:
                if not add(of_trace ^ hash(segment_id)):
                    copies = copies or set()
                    copies.add(segment_id)
            return None if copies is None else Repeat(copies=copies, earlier=set(copies))
        table, in_progress = self._complete, self._in_progress
        repeat: Repeat | None = None
        for segment_id in held:
            key = of_trace ^ hash(segment_id)
            if docs[segment_id].in_progress is not True:
                if table.add(key):
                    if not in_progress or (calls := in_progress.pop(key, None)) is None:
                        continue  # new and complete
                    repeat = repeat or Repeat()
                    repeat.calls[segment_id] = calls
                else:
                    repeat = repeat or Repeat()
                    repeat.copies.add(segment_id)
                repeat.earlier.add(segment_id)
                continue
            repeat = repeat or Repeat()
            if key in table:
                repeat.copies.add(segment_id)
                repeat.earlier.add(segment_id)
            elif (calls := in_progress.get(key)) is not None:
                repeat.calls[segment_id] = calls
                repeat.earlier.add(segment_id)
            elif len(in_progress) < MAX_IN_PROGRESS:
                repeat.calls[segment_id] = in_progress[key] = set()
            else:
                self.untracked += 1
        return repeat
