"""A trace read many times (copies, in-progress snapshots, parts) counts each call once."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import observe
from leastpriv_ci.usage.copies import Counted
from leastpriv_ci.usage.documents import decode

FN = "arn:aws:lambda:us-east-1:123456789012:function:f"

# A finished trace: per segment, how many calls it made
FINISHED = st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=4)


def _segment(index: int, calls: int, in_progress: bool) -> str:
    doc: dict[str, object] = {
        "id": f"s{index}", "name": "f", "origin": "AWS::Lambda::Function", "start_time": 1.0,
        "aws": {"function_arn": FN},
        "subsegments": [{"id": f"s{index}c{n}", "name": "dynamodb", "namespace": "aws",
                         "aws": {"operation": "GetItem", "table_name": "t"}}
                        for n in range(calls)]}
    if in_progress:
        doc["in_progress"] = True
    else:
        doc["end_time"] = 2.0
    return json.dumps(doc)


@st.composite
def reads(draw: st.DrawFn) -> tuple[list[int], list[RawTrace]]:
    """A finished trace and the reads an export could hold of it: each read some of its
    segments, each either finished or in progress with the calls made so far."""
    finished = draw(FINISHED)
    traces = []
    for number in range(draw(st.integers(min_value=1, max_value=5))):
        docs = []
        for index, calls in enumerate(finished):
            seen = draw(st.sampled_from(["absent", "in progress", "finished"]))
            if seen == "finished":
                docs.append(_segment(index, calls, False))
            elif seen == "in progress":
                docs.append(_segment(index, draw(st.integers(0, calls)), True))
        traces.append(RawTrace("1-x", tuple(draw(st.permutations(docs))), f"r#{number}"))
    return finished, traces


@settings(max_examples=300, deadline=None)
@given(reads())
def test_each_call_in_any_reads_of_a_trace_counts_once(drawn: tuple[list[int],
                                                                     list[RawTrace]]) -> None:
    _, traces = drawn
    made = {f"s{index}c{n}" for trace in traces for text in trace.segments
            for index, n in _calls(text)}
    observation = observe(traces)
    counted = sum(access.count for access in observation.principals[FN].accesses) \
        if FN in observation.principals else 0
    assert counted == len(made)
    # a read is counted as a trace unless it is in the duplicate-trace warning
    assert observation.traces == len(traces) - observation.notices.count("duplicate-trace")
    # a read is a new trace when none of its segments was read before, with calls or
    # without, in progress or finished
    read: set[str] = set()
    new = []
    for trace in traces:
        ids = {json.loads(text)["id"] for text in trace.segments}
        new.append(not ids & read)
        read |= ids
    assert observation.traces == sum(new)
    with_documents = sum(1 for trace, fresh in zip(traces, new, strict=True)
                         if fresh and trace.segments)
    assert (observation.principals[FN].traces if FN in observation.principals
            else 0) == with_documents


def _calls(text: str) -> list[tuple[str, int]]:
    doc = json.loads(text)
    return [(doc["id"][1:], n) for n in range(len(doc["subsegments"]))]


def test_documents_without_calls_are_remembered_apart() -> None:
    counted = Counted()
    empty = decode(_segment(0, 0, False))
    held = decode(_segment(1, 2, False))
    docs = {"s0": empty, "s1": held}
    assert counted.repeat("1-x", docs) is None
    repeat = counted.repeat("1-x", docs)
    # both were read before; only the one holding calls has calls not to count again
    assert repeat is not None and repeat.copies == {"s1"} and repeat.earlier == {"s0", "s1"}
    # the same segment id in another trace is another segment
    assert counted.repeat("1-y", docs) is None
    # a copy of s0 holding calls now is not taken for the s0 read without them
    assert counted.repeat("1-z", {"s0": empty}) is None
    assert counted.repeat("1-z", {"s0": decode(_segment(0, 1, False))}) is None


def test_a_trace_read_in_part_and_whole_counts_once_in_either_order() -> None:
    """Overlapping exports: one caught the trace before its function's segment came (or
    kept only its root), the other holds it whole."""
    root = json.dumps({"id": "r", "name": "f", "origin": "AWS::Lambda", "start_time": 1.0,
                       "end_time": 2.0, "resource_arn": FN})
    part = RawTrace("1-x", (root,), "r#1")
    whole = RawTrace("1-x", (root, _segment(0, 2, False)), "r#2")
    for reads in ([part, whole], [whole, part]):
        observation = observe(reads)
        assert observation.traces == 1
        assert observation.principals[FN].traces == 1
        assert sum(a.count for a in observation.principals[FN].accesses) == 2
        assert observation.notices.count("duplicate-trace") == 1


def test_a_segment_snapshot_without_calls_then_finished_is_one_trace() -> None:
    snapshot = RawTrace("1-x", (_segment(0, 0, True),), "r#1")
    finished = RawTrace("1-x", (_segment(0, 2, False),), "r#2")
    observation = observe([snapshot, finished])
    assert observation.traces == 1
    assert observation.principals[FN].traces == 1
    assert sum(a.count for a in observation.principals[FN].accesses) == 2


def test_a_trace_without_calls_read_twice_counts_once() -> None:
    """A function invoked without making AWS calls is seen: its copy must not count it
    twice, nor lose it."""
    once = RawTrace("1-x", (_segment(0, 0, False),), "r#1")
    observation = observe([once, once._replace(where="r#2")])
    assert observation.traces == 1
    assert observation.principals[FN].traces == 1
    assert observation.principals[FN].accesses == ()
    assert observation.notices.count("duplicate-trace") == 1


def test_a_segment_read_without_calls_then_with_them_counts_its_calls() -> None:
    snapshot = RawTrace("1-x", (_segment(0, 0, True),), "r#1")
    finished = RawTrace("1-x", (_segment(0, 2, False),), "r#2")
    observation = observe([snapshot, finished])
    assert sum(a.count for a in observation.principals[FN].accesses) == 2


def test_the_other_documents_of_a_trace_read_apart_still_count() -> None:
    """Raw segment lines of one trace far apart in a JSON Lines file: two reads, neither
    a copy of the other."""
    other = json.loads(_segment(1, 0, False))
    other["aws"] = {"function_arn": FN + "2"}
    observation = observe([RawTrace("1-x", (_segment(0, 0, False),), "r#1"),
                           RawTrace("1-x", (json.dumps(other),), "r#2")])
    assert observation.notices.count("duplicate-trace") == 0
    assert observation.principals[FN].traces == 1
    assert observation.principals[FN + "2"].traces == 1


def test_a_bad_document_in_a_trace_read_twice_is_warned_about_once() -> None:
    bad = ("{not json", json.dumps({"name": "no id"}))
    read = RawTrace("1-x", (_segment(0, 1, False), *bad), "r#1")
    observation = observe([read, read._replace(where="r#2")])
    assert observation.notices.count("malformed-segment") == 1
    assert observation.notices.count("segment-missing-id") == 1
    # the same bad text in another trace is another bad document
    other = observe([read, RawTrace("1-y", bad, "r#3")])
    assert other.notices.count("malformed-segment") == 2
    assert other.notices.count("segment-missing-id") == 2
