"""Which segments of a trace were read before, so a trace read again counts once.

A trace is read again when exports of overlapping windows both hold it, or when one
export caught it in progress and a later one finished. X-Ray's unit is the segment: its id
is unique in the trace, and a completed copy supersedes an in-progress one. So, per segment:

- counted complete before: a copy, nothing in it is counted again;
- counted in progress before: its calls counted then (by subsegment id) are not counted
  again, the others are;
- never counted: counted in full.

A read holding any segment read before is no new trace, in the trace counts too, whether
or not that segment held calls: a trace read first in part and then whole, or whole and
then in part, is one trace.

Complete segments are remembered as 64-bit fingerprints (16 to 64 bytes each), those
without calls apart from those holding calls (a copy of one may hold calls where the
other did not); a segment read in progress keeps the ids of its calls counted until its
completed copy comes, for at most :data:`MAX_IN_PROGRESS` segments at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from leastpriv_ci.fingerprints import Fingerprints
from leastpriv_ci.usage.documents import Node

MAX_IN_PROGRESS = 10_000  # in-progress segments whose counted calls are remembered
# Set apart the fingerprints of documents read without calls (a 64-bit constant: the
# fingerprint it marks stays a signed 64-bit hash)
WITHOUT_CALLS = -0x61C8864680B583EB


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
    """The documents read so far, across every trace read."""

    __slots__ = ("_complete", "_in_progress", "untracked")

    def __init__(self) -> None:
        self._complete = Fingerprints()
        # Segments read in progress: the ids of their calls counted (none without calls)
        self._in_progress: dict[int, set[str]] = {}
        self.untracked = 0  # in-progress segments past MAX_IN_PROGRESS: not remembered

    def repeat(self, trace_id: str, docs: Mapping[str, Node],
               sorted_out: tuple[list[str], list[str], bool] | None = None) -> Repeat | None:
        """Sort the trace's documents and remember them as read. ``None`` in the common
        case: every document new and complete, the trace to be counted in full.

        ``sorted_out``: the ids of the documents holding calls and of the others, and
        whether none of them is in progress, when the caller has found them already.
        """
        if sorted_out is None:
            held: list[str] = []
            bare: list[str] = []
            complete = True
            for segment_id, doc in docs.items():
                (held if holds_calls(doc) else bare).append(segment_id)
                complete = complete and doc.in_progress is not True
        else:
            held, bare, complete = sorted_out
        of_trace = hash(trace_id)
        if complete and not self._in_progress:  # the common case in one pass
            add = self._complete.add
            copies: set[str] | None = None
            for segment_id in held:
                if not add(of_trace ^ hash(segment_id)):
                    copies = copies or set()
                    copies.add(segment_id)
            earlier = set(copies) if copies else None
            for segment_id in bare:
                if not add(of_trace ^ hash(segment_id) ^ WITHOUT_CALLS):
                    earlier = earlier or set()
                    earlier.add(segment_id)
            return None if earlier is None else Repeat(copies=copies or set(), earlier=earlier)
        repeat = Repeat()
        for segment_id in held:
            self._sort_held(repeat, of_trace ^ hash(segment_id), segment_id,
                            docs[segment_id].in_progress is not True)
        for segment_id in bare:
            self._sort_bare(repeat, of_trace ^ hash(segment_id), segment_id,
                            docs[segment_id].in_progress is not True)
        # (segments left untracked are warned about on the general path)
        return repeat if repeat.earlier or repeat.calls or self.untracked else None

    def _sort_held(self, repeat: Repeat, key: int, segment_id: str, complete: bool) -> None:
        """A document holding calls: a copy, continued, or new."""
        table, in_progress = self._complete, self._in_progress
        if complete:
            if table.add(key):
                calls = in_progress.pop(key, None) if in_progress else None
                if calls is None:
                    return  # new and complete
                repeat.calls[segment_id] = calls
            else:
                repeat.copies.add(segment_id)
            repeat.earlier.add(segment_id)
            return
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

    def _sort_bare(self, repeat: Repeat, key: int, segment_id: str, complete: bool) -> None:
        """A document without calls: read before or not (it counts in trace counts only)."""
        table, in_progress = self._complete, self._in_progress
        if complete:
            new = table.add(key ^ WITHOUT_CALLS)
            continued = in_progress.pop(key, None) is not None  # its in-progress copy read
            if new and not continued:
                return
        elif not (key in table or key ^ WITHOUT_CALLS in table or key in in_progress):
            if len(in_progress) < MAX_IN_PROGRESS:
                in_progress[key] = set()  # its completed copy may hold calls: all of them count
            else:
                self.untracked += 1
            return
        repeat.earlier.add(segment_id)
