"""Traces from the X-Ray API: moto's X-Ray, a throttling stand-in, and botocore's Stubber."""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from leastpriv_ci.demo.recording import MemoryEmitter
from leastpriv_ci.emulator import Emulator
from leastpriv_ci.errors import EXIT_SERVICE_ERROR, ServiceError, UserError
from leastpriv_ci.notices import Notices
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.traces.options import TraceWindow, add_trace_arguments, open_traces
from leastpriv_ci.traces.pacing import Pacer
from leastpriv_ci.traces.xray import (
    NOTICE_UNPROCESSED,
    FetchStats,
    XrayQuery,
    fetch_ids,
    fetch_traces,
    make_client,
)
from tests.xray_standin import StandIn, running_standin, trace_id

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOUR = TraceWindow(NOW - timedelta(hours=1), NOW)
ROLE = "arn:aws:sts::123456789012:assumed-role/leastpriv-scan/gha"


def session() -> Any:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def stubbed(**kwargs: Any) -> tuple[Any, Stubber]:
    client = make_client(session(), **kwargs)
    return client, Stubber(client)


def query(**kwargs: Any) -> XrayQuery:
    return XrayQuery(**{"window": HOUR, "max_concurrency": 1, "unprocessed_delay": 0.0, **kwargs})


def trace(number: int) -> dict[str, Any]:
    document = json.dumps({"id": f"{number:016x}", "trace_id": trace_id(number), "name": "fn"})
    return {"Id": trace_id(number), "Segments": [{"Id": f"{number:016x}", "Document": document}]}


def summaries(*numbers: int, token: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"TraceSummaries": [{"Id": trace_id(n)} for n in numbers]}
    if token:
        page["NextToken"] = token
    return page


def fetch(client: Any, q: XrayQuery, notices: Notices | None = None, **kw: Any) -> list[RawTrace]:
    return list(fetch_traces(client, q, notices if notices is not None else Notices(), **kw))


# moto's X-Ray, over HTTP ------------------------------------------------------------


def put_traces(aws: Emulator, count: int) -> dict[str, list[str]]:
    """PutTraceSegments: ``count`` traces of a parent segment and a subsegment document."""
    xray = aws.client("xray")
    start = time.time() - 60
    put: dict[str, list[str]] = {}
    for number in range(count):
        tid = f"1-{int(start):08x}-{number:024x}"
        parent = {
            "id": f"{number:015x}a",
            "trace_id": tid,
            "name": f"fn-{number % 3}",
            "start_time": start + number * 0.01,
            "end_time": start + number * 0.01 + 0.5,
            "origin": "AWS::Lambda::Function",
        }
        child = {
            "id": f"{number:015x}b",
            "trace_id": tid,
            "parent_id": parent["id"],
            "type": "subsegment",
            "name": "DynamoDB",
            "namespace": "aws",
            "start_time": start + number * 0.01 + 0.1,
            "end_time": start + number * 0.01 + 0.2,
            "aws": {"operation": "GetItem", "table_name": "orders"},
        }
        documents = [json.dumps(parent), json.dumps(child)]
        response = xray.put_trace_segments(TraceSegmentDocuments=documents)
        assert response["UnprocessedTraceSegments"] == []
        put[tid] = documents
    return put


def test_fetch_from_moto_returns_every_trace_with_its_documents(aws: Emulator) -> None:
    put = put_traces(aws, 12)
    client = make_client(session(), endpoint_url=aws.endpoint_url)
    now = datetime.now(UTC)
    stats = FetchStats()
    notices = Notices()
    traces = fetch(
        client,
        XrayQuery(TraceWindow(now - timedelta(minutes=10), now + timedelta(minutes=1))),
        notices,
        stats=stats,
    )
    assert {t.trace_id for t in traces} == set(put)
    for raw in traces:
        assert sorted(raw.segments) == sorted(put[raw.trace_id])  # type: ignore[index, type-var]
        assert raw.where == f"xray:{raw.trace_id}"
    assert stats.batch_calls == math.ceil(12 / 5)
    assert len(notices) == 0


def test_open_traces_uses_the_api_without_traces_files(aws: Emulator) -> None:
    put = put_traces(aws, 3)
    parser = argparse.ArgumentParser()
    add_trace_arguments(parser)
    args = parser.parse_args(
        ["--since", "15m", "--endpoint-url", aws.endpoint_url, "--region", "us-east-1"]
    )
    traces = list(open_traces(args, Notices(), session=session()))
    assert {t.trace_id for t in traces} == set(put)


@pytest.mark.parametrize("variable", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_without_region_option_x_ray_is_read_in_the_region_the_environment_names(
        aws: Emulator, variable: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # botocore reads AWS_DEFAULT_REGION only; runners, the AWS CLI and the other SDKs set
    # AWS_REGION. moto keeps X-Ray's traces per region: another region would find none.
    put = put_traces(aws, 3)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, aws.region)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))  # no profile's region
    parser = argparse.ArgumentParser()
    add_trace_arguments(parser)
    args = parser.parse_args(["--since", "15m", "--endpoint-url", aws.endpoint_url])
    traces = list(open_traces(args, Notices()))  # the default chain's session
    assert {t.trace_id for t in traces} == set(put)


def test_moto_reports_unknown_ids_as_unprocessed_and_they_are_counted(aws: Emulator) -> None:
    put = put_traces(aws, 2)
    client = make_client(session(), endpoint_url=aws.endpoint_url)
    unknown = [trace_id(1), trace_id(2)]
    stats = FetchStats()
    notices = Notices()
    traces = list(
        fetch_ids(client, [*put, *unknown], query(unprocessed_rounds=1), notices, stats=stats)
    )
    assert {t.trace_id for t in traces} == set(put)
    assert stats.batch_calls == 2  # four IDs in one call, then one retry round of the two
    assert stats.unprocessed_retried == 2
    assert stats.unprocessed_left == 2
    assert notices.count(NOTICE_UNPROCESSED) == 1


# Listing: window chunks, pages, groups ------------------------------------------------


def test_long_windows_are_split_into_day_chunks_and_ids_deduplicated() -> None:
    client, stub = stubbed()
    start = NOW - timedelta(hours=50)
    edges = [start, start + timedelta(hours=24), start + timedelta(hours=48), NOW]
    pages = [summaries(1, 2), summaries(2, 3), summaries(3, 4)]  # overlaps across chunks
    for (begin, end), page in zip(itertools.pairwise(edges), pages, strict=True):
        stub.add_response("get_trace_summaries", page, {"StartTime": begin, "EndTime": end})
    stub.add_response(
        "batch_get_traces",
        {"Traces": [trace(n) for n in (1, 2, 3, 4)]},
        {"TraceIds": [trace_id(n) for n in (1, 2, 3, 4)]},
    )
    stats = FetchStats()
    with stub:
        traces = fetch(client, query(window=TraceWindow(start, NOW)), stats=stats)
    stub.assert_no_pending_responses()
    assert [t.trace_id for t in traces] == [trace_id(n) for n in (1, 2, 3, 4)]
    assert [(c.start, c.end) for c in stats.chunks] == list(itertools.pairwise(edges))


def test_every_summary_page_is_read() -> None:
    client, stub = stubbed()
    window = {"StartTime": HOUR.start, "EndTime": HOUR.end}
    stub.add_response("get_trace_summaries", summaries(1, 2, token="p2"), window)
    stub.add_response(
        "get_trace_summaries", summaries(3, token="p3"), {**window, "NextToken": "p2"}
    )
    stub.add_response("get_trace_summaries", summaries(4), {**window, "NextToken": "p3"})
    stub.add_response("batch_get_traces", {"Traces": [trace(n) for n in (1, 2, 3, 4)]})
    with stub:
        traces = fetch(client, query())
    assert [t.trace_id for t in traces] == [trace_id(n) for n in (1, 2, 3, 4)]
    stub.assert_no_pending_responses()


def test_group_filter_is_joined_to_the_user_filter() -> None:
    client, stub = stubbed()
    stub.add_response(
        "get_group",
        {"Group": {"GroupName": "staging", "FilterExpression": 'annotation.env = "staging"'}},
        {"GroupName": "staging"},
    )
    stub.add_response(
        "get_trace_summaries",
        summaries(),
        {
            "StartTime": HOUR.start,
            "EndTime": HOUR.end,
            "FilterExpression": '(annotation.env = "staging") AND (service("api"))',
        },
    )
    with stub:
        assert fetch(client, query(group="staging", filter_expression='service("api")')) == []
    stub.assert_no_pending_responses()


def test_filter_expression_is_passed_through() -> None:
    client, stub = stubbed()
    expected = {"StartTime": HOUR.start, "EndTime": HOUR.end, "FilterExpression": "fault = true"}
    stub.add_response("get_trace_summaries", summaries(), expected)
    with stub:
        fetch(client, query(filter_expression="fault = true"))
    stub.assert_no_pending_responses()


def test_unknown_group_is_an_input_error() -> None:
    client, stub = stubbed()
    stub.add_client_error("get_group", "InvalidRequestException", "Group not found")
    with stub, pytest.raises(UserError, match=r"no group 'nope'.*--xray-group") as caught:
        fetch(client, query(group="nope"))
    assert caught.value.exit_code == 2


# Fetching: batches of five, unprocessed IDs ----------------------------------------


def test_n_traces_take_ceil_n_over_5_batch_calls_of_at_most_five_ids() -> None:
    client, stub = stubbed()
    stub.add_response("get_trace_summaries", summaries(*range(23)))
    for first in range(0, 23, 5):
        numbers = list(range(first, min(first + 5, 23)))
        stub.add_response(
            "batch_get_traces",
            {"Traces": [trace(n) for n in numbers]},
            {"TraceIds": [trace_id(n) for n in numbers]},
        )
    stats = FetchStats()
    with stub:
        traces = fetch(client, query(), stats=stats)
    assert len(traces) == 23
    assert stats.batch_calls == math.ceil(23 / 5) == 5
    stub.assert_no_pending_responses()


def test_partial_unprocessed_ids_are_asked_for_again() -> None:
    client, stub = stubbed()
    stub.add_response("get_trace_summaries", summaries(*range(7)))
    stub.add_response(
        "batch_get_traces",
        {
            "Traces": [trace(n) for n in (0, 1, 2)],
            "UnprocessedTraceIds": [trace_id(3), trace_id(4)],
        },
        {"TraceIds": [trace_id(n) for n in range(5)]},
    )
    stub.add_response(
        "batch_get_traces",
        {"Traces": [trace(n) for n in (5, 6)]},
        {"TraceIds": [trace_id(5), trace_id(6)]},
    )
    stub.add_response(  # the retry round batches what is left together
        "batch_get_traces",
        {"Traces": [trace(3), trace(4)]},
        {"TraceIds": [trace_id(3), trace_id(4)]},
    )
    stats = FetchStats()
    notices = Notices()
    with stub:
        traces = fetch(client, query(), notices, stats=stats)
    assert sorted(t.trace_id or "" for t in traces) == [trace_id(n) for n in range(7)]
    assert stats.batch_calls == math.ceil(7 / 5) + 1
    assert stats.unprocessed_retried == 2
    assert notices.count(NOTICE_UNPROCESSED) == 0


def test_ids_still_unprocessed_after_the_rounds_are_a_counted_warning() -> None:
    client, stub = stubbed()
    stub.add_response("get_trace_summaries", summaries(1, 2))
    stub.add_response(
        "batch_get_traces", {"Traces": [trace(1)], "UnprocessedTraceIds": [trace_id(2)]}
    )
    for _ in range(2):
        stub.add_response(
            "batch_get_traces",
            {"Traces": [], "UnprocessedTraceIds": [trace_id(2)]},
            {"TraceIds": [trace_id(2)]},
        )
    stats = FetchStats()
    notices = Notices()
    with stub:
        traces = fetch(client, query(unprocessed_rounds=2), notices, stats=stats)
    assert [t.trace_id for t in traces] == [trace_id(1)]
    assert stats.batch_calls == 3
    assert stats.unprocessed_left == 1
    assert notices.count(NOTICE_UNPROCESSED) == 1
    stub.assert_no_pending_responses()


class FakeTime:
    """A clock that moves only when slept on."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.slept: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def test_the_pause_between_unprocessed_rounds_is_the_query_s_sleep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rounds pause longer each time, on the injected clock, never the process's."""
    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) was called")

    monkeypatch.setattr(time, "sleep", no_sleep)
    client, stub = stubbed()
    fake = FakeTime(NOW)
    stub.add_response("get_trace_summaries", summaries(1))
    for _ in range(3):
        stub.add_response("batch_get_traces", {"Traces": [], "UnprocessedTraceIds": [trace_id(1)]})
    stub.add_response("batch_get_traces", {"Traces": [trace(1)]})
    with stub:
        traces = fetch(client, query(unprocessed_delay=1.5, clock=fake.clock, sleep=fake.sleep))
    stub.assert_no_pending_responses()
    assert [t.trace_id for t in traces] == [trace_id(1)]
    assert fake.slept == [1.5, 3.0, 4.5]


def test_a_settle_time_lists_the_window_s_end_again_and_reads_late_traces(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """X-Ray indexes some traces after the first listing: until settle seconds past the
    window's end, its last 15 minutes are listed again and the new traces read."""
    client, stub = stubbed()
    fake = FakeTime(NOW)  # the window ends as the scan starts, as in CI
    tail = {"StartTime": NOW - timedelta(minutes=15), "EndTime": NOW}
    stub.add_response("get_trace_summaries", summaries(1, 2),
                      {"StartTime": HOUR.start, "EndTime": NOW})
    stub.add_response("batch_get_traces", {"Traces": [trace(1), trace(2)]})
    stub.add_response("get_trace_summaries", summaries(1, 2, 3), tail)  # 10 s later
    stub.add_response("batch_get_traces", {"Traces": [trace(3)]}, {"TraceIds": [trace_id(3)]})
    stub.add_response("get_trace_summaries", summaries(1, 2, 3, 4), tail)  # 20 s: the end
    stub.add_response("batch_get_traces", {"Traces": [trace(4)]}, {"TraceIds": [trace_id(4)]})
    stats = FetchStats()
    notices = Notices()
    with stub:
        traces = fetch(client, query(settle=20.0, clock=fake.clock, sleep=fake.sleep),
                       notices, stats=stats)
    stub.assert_no_pending_responses()
    assert [t.trace_id for t in traces] == [trace_id(n) for n in (1, 2, 3, 4)]
    assert fake.slept == [10.0, 10.0]
    assert stats.late == 2 and stats.listed == 4
    # the last listing still found one: more may come
    assert notices.count("xray-traces-still-arriving") == 1
    assert capsys.readouterr().err == (
        "leastpriv-ci: listing the trace window's end again for 20 s more, for traces X-Ray "
        "lists late (settle time; 0 turns it off)\n")


def test_a_trace_listed_in_progress_and_complete_while_settling_is_read_again() -> None:
    """Read first in part, then whole: the usage stage counts its calls once each."""
    from leastpriv_ci.usage import observe

    client, stub = stubbed()
    fake = FakeTime(NOW)
    root = {"id": "000000000000000a", "trace_id": trace_id(1), "name": "fn",
            "origin": "AWS::Lambda::Function", "start_time": 1.0, "in_progress": True,
            "aws": {"function_arn": "arn:aws:lambda:us-east-1:123456789012:function:fn"}}
    call = {"id": "000000000000000b", "trace_id": trace_id(1), "parent_id": root["id"],
            "type": "subsegment", "name": "SQS", "namespace": "aws", "start_time": 1.1,
            "end_time": 1.2, "aws": {"operation": "SendMessage", "region": "us-east-1",
                                      "queue_url": "https://sqs.us-east-1.amazonaws.com/"
                                                   "123456789012/q"}}
    later = {**call, "id": "000000000000000c", "start_time": 1.3, "end_time": 1.4}
    done = {**root, "in_progress": False, "end_time": 2.0}
    in_progress = {"Id": trace_id(1), "Segments": [
        {"Id": root["id"], "Document": json.dumps(root)},
        {"Id": call["id"], "Document": json.dumps(call)}]}
    complete = {"Id": trace_id(1), "Segments": [
        {"Id": root["id"], "Document": json.dumps(done)},
        {"Id": call["id"], "Document": json.dumps(call)},
        {"Id": later["id"], "Document": json.dumps(later)}]}
    stub.add_response("get_trace_summaries",
                      {"TraceSummaries": [{"Id": trace_id(1), "IsPartial": True}]})
    stub.add_response("batch_get_traces", {"Traces": [in_progress]})
    stub.add_response("get_trace_summaries",
                      {"TraceSummaries": [{"Id": trace_id(1), "IsPartial": False}]})
    stub.add_response("batch_get_traces", {"Traces": [complete]})
    stats = FetchStats()
    notices = Notices()
    with stub:
        traces = fetch(client, query(settle=10.0, clock=fake.clock, sleep=fake.sleep),
                       notices, stats=stats)
    stub.assert_no_pending_responses()
    assert [len(t.segments) for t in traces] == [2, 3]
    assert stats.completed == 1 and stats.late == 0 and len(notices) == 0
    observation = observe(iter(traces))
    (principal,) = observation.principals.values()
    assert principal.traces == 1
    assert [(a.action, a.count) for a in principal.accesses] == [("sqs:SendMessage", 2)]


def test_a_trace_unprocessed_in_progress_and_read_once_complete_is_no_warning() -> None:
    """Unprocessed while X-Ray assembled it, then listed complete and read: nothing is
    left unprocessed."""
    client, stub = stubbed()
    fake = FakeTime(NOW)
    stub.add_response("get_trace_summaries",
                      {"TraceSummaries": [{"Id": trace_id(1), "IsPartial": True}]})
    stub.add_response("batch_get_traces", {"Traces": [], "UnprocessedTraceIds": [trace_id(1)]})
    stub.add_response("get_trace_summaries",
                      {"TraceSummaries": [{"Id": trace_id(1), "IsPartial": False}]})
    stub.add_response("batch_get_traces", {"Traces": [trace(1)]})
    stats = FetchStats()
    notices = Notices()
    with stub:
        traces = fetch(client, query(settle=10.0, unprocessed_rounds=0, clock=fake.clock,
                                     sleep=fake.sleep), notices, stats=stats)
    stub.assert_no_pending_responses()
    assert [t.trace_id for t in traces] == [trace_id(1)]
    assert stats.unprocessed_left == 0
    assert notices.count(NOTICE_UNPROCESSED) == 0


def test_a_trace_left_unprocessed_is_asked_for_again_while_settling() -> None:
    """Listed complete, unprocessed through the rounds: each settle listing asks for it
    once more, and one that X-Ray then returns is no warning."""
    client, stub = stubbed()
    fake = FakeTime(NOW)
    unprocessed = {"Traces": [], "UnprocessedTraceIds": [trace_id(2)]}
    stub.add_response("get_trace_summaries", summaries(1, 2))
    stub.add_response("batch_get_traces", {"Traces": [trace(1)],
                                           "UnprocessedTraceIds": [trace_id(2)]})
    stub.add_response("batch_get_traces", unprocessed, {"TraceIds": [trace_id(2)]})  # round 1
    stub.add_response("get_trace_summaries", summaries(1, 2, 3))  # 10 s: a late one too
    stub.add_response("batch_get_traces", {"Traces": [trace(3)]}, {"TraceIds": [trace_id(3)]})
    stub.add_response("batch_get_traces", {"Traces": [trace(2)]}, {"TraceIds": [trace_id(2)]})
    stub.add_response("get_trace_summaries", summaries(1, 2, 3))  # 20 s: nothing left
    stats = FetchStats()
    notices = Notices()
    with stub:
        traces = fetch(client, query(settle=20.0, unprocessed_rounds=1, clock=fake.clock,
                                     sleep=fake.sleep), notices, stats=stats)
    stub.assert_no_pending_responses()
    assert [t.trace_id for t in traces] == [trace_id(n) for n in (1, 3, 2)]
    assert fake.slept == [0.0, 10.0, 10.0]  # the listings are the pause: no rounds there
    assert stats.unprocessed_retried == 2 and stats.unprocessed_left == 0
    assert notices.count(NOTICE_UNPROCESSED) == 0


def test_settle_retries_of_an_unprocessed_trace_are_bounded_and_it_is_counted_once() -> None:
    """At most the rounds' number of retries while settling too (an expired trace would
    otherwise be asked for every 10 s), and one warning counting it once."""
    client, stub = stubbed()
    fake = FakeTime(NOW)
    unprocessed = {"Traces": [], "UnprocessedTraceIds": [trace_id(2)]}
    stub.add_response("get_trace_summaries", summaries(1, 2))
    stub.add_response("batch_get_traces", {"Traces": [trace(1)],
                                           "UnprocessedTraceIds": [trace_id(2)]})
    stub.add_response("batch_get_traces", unprocessed, {"TraceIds": [trace_id(2)]})  # round 1
    stub.add_response("get_trace_summaries", summaries(1, 2))  # 10 s
    stub.add_response("batch_get_traces", unprocessed, {"TraceIds": [trace_id(2)]})
    for _ in range(2):  # 20 s, 30 s: listed, not asked for again
        stub.add_response("get_trace_summaries", summaries(1, 2))
    stats = FetchStats()
    notices = Notices()
    with stub:
        traces = fetch(client, query(settle=30.0, unprocessed_rounds=1, clock=fake.clock,
                                     sleep=fake.sleep), notices, stats=stats)
    stub.assert_no_pending_responses()  # and no further call (Stubber refuses one)
    assert [t.trace_id for t in traces] == [trace_id(1)]
    assert stats.batch_calls == 3 and stats.unprocessed_retried == 2
    assert stats.unprocessed_left == 1
    assert notices.count(NOTICE_UNPROCESSED) == 1


def test_a_settle_time_ends_quietly_when_the_last_listing_finds_nothing_new() -> None:
    client, stub = stubbed()
    fake = FakeTime(NOW + timedelta(seconds=25))  # the fetch starts 25 s after the end
    stub.add_response("get_trace_summaries", summaries(1))
    stub.add_response("batch_get_traces", {"Traces": [trace(1)]})
    stub.add_response("get_trace_summaries", summaries(1, 2))  # at 30 s, the settle's end
    stub.add_response("batch_get_traces", {"Traces": [trace(2)]})
    notices = Notices()
    with stub:
        traces = fetch(client, query(settle=30.0, clock=fake.clock, sleep=fake.sleep), notices)
    stub.assert_no_pending_responses()
    assert [t.trace_id for t in traces] == [trace_id(1), trace_id(2)]
    assert fake.slept == [5.0]
    assert notices.count("xray-traces-still-arriving") == 1  # found at the very end

    client, stub = stubbed()
    fake = FakeTime(NOW + timedelta(seconds=25))
    stub.add_response("get_trace_summaries", summaries(1))
    stub.add_response("batch_get_traces", {"Traces": [trace(1)]})
    stub.add_response("get_trace_summaries", summaries(1))
    notices = Notices()
    with stub:
        traces = fetch(client, query(settle=30.0, clock=fake.clock, sleep=fake.sleep), notices)
    stub.assert_no_pending_responses()
    assert len(traces) == 1 and len(notices) == 0


def test_a_window_ending_after_the_fetch_starts_waits_no_longer_than_the_settle_time(
) -> None:
    """An --end in the future must not stretch the wait past the settle time (at most
    15 minutes): it counts from the fetch's start then."""
    client, stub = stubbed()
    fake = FakeTime(NOW - timedelta(minutes=30))  # the window ends in 30 minutes
    stub.add_response("get_trace_summaries", summaries(1))
    stub.add_response("batch_get_traces", {"Traces": [trace(1)]})
    for _ in range(2):
        stub.add_response("get_trace_summaries", summaries(1))
    with stub:
        traces = fetch(client, query(settle=20.0, clock=fake.clock, sleep=fake.sleep))
    stub.assert_no_pending_responses()
    assert len(traces) == 1 and fake.slept == [10.0, 10.0]


def test_a_window_that_ended_a_settle_time_before_the_fetch_is_listed_once() -> None:
    client, stub = stubbed()
    fake = FakeTime(NOW + timedelta(seconds=31))
    stub.add_response("get_trace_summaries", summaries(1))
    stub.add_response("batch_get_traces", {"Traces": [trace(1)]})
    with stub:
        traces = fetch(client, query(settle=30.0, clock=fake.clock, sleep=fake.sleep))
    stub.assert_no_pending_responses()  # and no further call was made (Stubber refuses it)
    assert len(traces) == 1 and fake.slept == []


def test_late_traces_are_read_from_moto_through_the_settle_time_option(
    aws: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trace PutTraceSegments delivers after the first listing, though it started in the
    window, is read within --settle-time."""
    import threading

    from leastpriv_ci.traces import xray

    monkeypatch.setattr(xray, "SETTLE_STEP", 0.25)
    put = put_traces(aws, 2)
    late_id = f"1-{int(time.time()) - 2:08x}-{'ab' * 12}"
    late = {"id": "00000000000000ff", "trace_id": late_id, "name": "fn-late",
            "start_time": time.time() - 2, "end_time": time.time() - 1,
            "origin": "AWS::Lambda::Function"}
    listed = threading.Event()
    real_call = xray._Caller.call

    def call(self: Any, operation: str, **request: Any) -> dict[str, Any]:
        result = real_call(self, operation, **request)
        if operation == "GetTraceSummaries":
            listed.set()
        return result

    monkeypatch.setattr(xray._Caller, "call", call)

    def deliver_late() -> None:
        listed.wait(10)
        aws.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(late)])

    parser = argparse.ArgumentParser()
    add_trace_arguments(parser)
    args = parser.parse_args(["--since", "15m", "--settle-time", "3s", "--endpoint-url",
                              aws.endpoint_url, "--region", "us-east-1"])
    courier = threading.Thread(target=deliver_late)
    courier.start()
    traces = list(open_traces(args, Notices(), session=session()))
    courier.join()
    assert {t.trace_id for t in traces} == {*put, late_id}


@pytest.mark.parametrize("value", ["0", "0s", "0m", "0.0s"])
def test_a_settle_time_of_zero_turns_it_off(value: str, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """As the log line says ("0 turns it off") and the action's input: not an error."""
    from leastpriv_ci.traces import xray

    queries: list[XrayQuery] = []
    monkeypatch.setattr(xray, "fetch_traces",
                        lambda client, q, notices, **kw: queries.append(q) or iter(()))
    parser = argparse.ArgumentParser()
    add_trace_arguments(parser)
    args = parser.parse_args(["--since", "15m", "--settle-time", value, "--region",
                              "us-east-1"])
    open_traces(args, Notices(), session=session())
    assert [q.settle for q in queries] == [0.0]


@pytest.mark.parametrize(("value", "message"), [
    ("30m", "--settle-time '30m' is over 15 minutes"),
    ("soon", "--settle-time 'soon' is not a duration"),
])
def test_a_settle_time_out_of_bounds_is_an_input_error(value: str, message: str) -> None:
    parser = argparse.ArgumentParser()
    add_trace_arguments(parser)
    args = parser.parse_args(["--since", "15m", "--settle-time", value, "--region",
                              "us-east-1"])
    with pytest.raises(UserError, match=message):
        open_traces(args, Notices(), session=session())


def test_batch_get_traces_pages_are_followed_and_joined() -> None:
    client, stub = stubbed()
    stub.add_response("get_trace_summaries", summaries(1))
    first, second = trace(1), trace(1)
    second["Segments"][0]["Document"] = '{"id": "other"}'
    stub.add_response("batch_get_traces", {"Traces": [first], "NextToken": "more"})
    stub.add_response(
        "batch_get_traces",
        {"Traces": [second]},
        {"TraceIds": [trace_id(1)], "NextToken": "more"},
    )
    with stub:
        (raw,) = fetch(client, query())
    assert raw.segments == (first["Segments"][0]["Document"], '{"id": "other"}')


# Errors: permissions, KMS, endpoint -------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "method"),
    [
        ("GetTraceSummaries", "get_trace_summaries"),
        ("BatchGetTraces", "batch_get_traces"),
        ("GetGroup", "get_group"),
    ],
)
def test_access_denied_names_the_missing_permission(operation: str, method: str) -> None:
    client, stub = stubbed()
    if operation != "GetTraceSummaries" and operation != "GetGroup":
        stub.add_response("get_trace_summaries", summaries(1))
    stub.add_client_error(
        method,
        "AccessDeniedException",
        f"User: {ROLE} is not authorized to perform: xray:{operation}",
        http_status_code=403,
    )
    group = "staging" if operation == "GetGroup" else None
    with stub, pytest.raises(ServiceError) as caught:
        fetch(client, query(group=group))
    message = str(caught.value)
    assert f"grant xray:{operation} to the scanning role" in message
    assert message.startswith(ROLE)
    assert caught.value.exit_code == EXIT_SERVICE_ERROR
    stub.assert_no_pending_responses()  # AccessDenied is not retried


def test_access_denied_without_an_arn_asks_sts_who_called() -> None:
    client, stub = stubbed()
    stub.add_client_error("get_trace_summaries", "AccessDeniedException", "Access denied")
    with (
        stub,
        pytest.raises(ServiceError, match=rf"^{ROLE} is not allowed .*xray:GetTraceSummaries"),
    ):
        fetch(client, query(), identify=lambda: ROLE)


def test_kms_refusal_names_kms_decrypt_on_the_key() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    client, stub = stubbed()
    stub.add_response("get_trace_summaries", summaries(1))
    stub.add_client_error(
        "batch_get_traces",
        "AccessDeniedException",
        f"User: {ROLE} is not authorized to perform: kms:Decrypt on resource: {key}",
    )
    with stub, pytest.raises(ServiceError) as caught:
        fetch(client, query())
    assert f"{ROLE} needs kms:Decrypt on the key {key}" in str(caught.value)


@pytest.mark.parametrize("role", ["kms-audit-scanner", "decrypt-check"])
def test_a_caller_named_after_kms_refused_by_x_ray_is_refused_x_ray(role: str) -> None:
    caller = f"arn:aws:sts::123456789012:assumed-role/{role}/gha"
    client, stub = stubbed()
    stub.add_client_error(
        "get_trace_summaries", "AccessDeniedException",
        f"User: {caller} is not authorized to perform: xray:GetTraceSummaries")
    with stub, pytest.raises(ServiceError) as caught:
        fetch(client, query())
    assert "grant xray:GetTraceSummaries to the scanning role" in str(caught.value)
    assert "kms:Decrypt" not in str(caught.value)


def test_kms_refusal_without_a_key_arn_reads_the_encryption_config() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/feed"
    client, stub = stubbed()
    stub.add_client_error(
        "get_trace_summaries",
        "AccessDeniedException",
        "The ciphertext refers to a customer master key that does not exist, does not exist "
        "in this region, or you are not allowed to access.",
    )
    stub.add_response(
        "get_encryption_config",
        {"EncryptionConfig": {"KeyId": key, "Status": "ACTIVE", "Type": "KMS"}},
    )
    with stub, pytest.raises(ServiceError, match=f"kms:Decrypt on the key {key}"):
        fetch(client, query(), identify=lambda: ROLE)


def test_unreachable_endpoint_is_a_service_error() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(session(), endpoint_url=f"http://127.0.0.1:{port}", max_attempts=0)
    with pytest.raises(ServiceError, match=rf"cannot reach X-Ray at http://127.0.0.1:{port}"):
        fetch(client, query())


def test_client_retries_in_standard_mode_and_uses_the_custom_endpoint() -> None:
    client = make_client(session(), endpoint_url="http://vpce.example:4443", max_attempts=7)
    # botocore retries; the pacer, not adaptive mode's limiter, sets the pace.
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 8}
    assert client.meta.endpoint_url == "http://vpce.example:4443"


# Throttling, over real HTTP ---------------------------------------------------------


def test_throttled_calls_are_retried_by_botocore_until_they_succeed() -> None:
    with running_standin(StandIn(count=3, throttle_first=1)) as state:
        client = make_client(session(), endpoint_url=state.endpoint_url)
        traces = fetch(client, query())
    assert [t.trace_id for t in traces] == [trace_id(n) for n in range(3)]
    assert sum(state.throttled.values()) == 1
    assert state.calls == {"GetTraceSummaries": 1, "BatchGetTraces": 1}


def test_throttling_past_the_attempts_is_a_service_error() -> None:
    with running_standin(StandIn(count=3, throttle_first=5)) as state:
        client = make_client(session(), endpoint_url=state.endpoint_url, max_attempts=0)
        with pytest.raises(ServiceError, match="kept throttling GetTraceSummaries after 1 "):
            fetch(client, query())


def test_every_request_and_retry_goes_through_the_pacer() -> None:
    pacer = Pacer()
    with running_standin(StandIn(count=12, throttle_first=1)) as state:
        client = make_client(session(), endpoint_url=state.endpoint_url, pacer=pacer)
        assert len(fetch(client, query(max_concurrency=2))) == 12
    assert pacer.sent == sum(state.calls.values()) + 1  # and the throttled attempt
    assert pacer.throttles == 1


def test_fetch_learns_a_strict_limit_and_still_makes_ceil_n_over_5_calls() -> None:
    # Starting at three times the limit: X-Ray throttles until the pacer has learnt it.
    pacer = Pacer(rate=60.0)
    with running_standin(StandIn(count=80, rate=20.0, burst=1.0)) as state:
        client = make_client(session(), endpoint_url=state.endpoint_url, pacer=pacer)
        stats = FetchStats()
        traces = fetch(client, query(max_concurrency=8), stats=stats)
    assert sorted(t.trace_id or "" for t in traces) == [trace_id(n) for n in range(80)]
    assert state.calls["BatchGetTraces"] == stats.batch_calls == math.ceil(80 / 5)
    assert sum(state.throttled.values()) == pacer.throttles > 0  # every throttle retried
    assert not pacer.slow_start
    assert pacer.rate < 60.0


def test_the_listing_runs_pages_ahead_of_the_batch_calls() -> None:
    # So a throttled GetTraceSummaries (waiting out botocore's back-off) does not hold
    # up the BatchGetTraces calls: the next page is listed while a page is fetched.
    with running_standin(StandIn(count=300)) as state:
        client = make_client(session(), endpoint_url=state.endpoint_url)
        traces = fetch(client, query(max_concurrency=1))
    assert len(traces) == 300
    pages = [n for n, operation in enumerate(state.order) if operation == "GetTraceSummaries"]
    assert len(pages) == 3
    first_page_fetched = pages[0] + 100 // 5  # its 20 BatchGetTraces calls
    assert pages[1] < first_page_fetched


def test_concurrent_fetch_against_the_standin_yields_every_trace_once() -> None:
    with running_standin(StandIn(count=137, unprocessed_once=frozenset({trace_id(7)}))) as state:
        client = make_client(session(), endpoint_url=state.endpoint_url)
        stats = FetchStats()
        traces = fetch(client, query(max_concurrency=4), stats=stats)
    assert sorted(t.trace_id or "" for t in traces) == [trace_id(n) for n in range(137)]
    assert state.calls["BatchGetTraces"] == math.ceil(137 / 5) + 1
    assert max(state.ids_per_call) == 5


# Options ------------------------------------------------------------------------------


def test_window_options() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert TraceWindow.from_options("30m", None, None, now) == TraceWindow(
        now - timedelta(minutes=30), now
    )
    assert TraceWindow.from_options(None, "2026-01-01T00:00:00Z", "2026-01-01T06:00", now) == (
        TraceWindow(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 6, tzinfo=UTC))
    )
    with pytest.raises(UserError, match="--since '3 parsecs' is not a duration"):
        TraceWindow.from_options("3 parsecs", None, None, now)
    with pytest.raises(UserError, match="--start 'yesterday' is not an ISO 8601"):
        TraceWindow.from_options(None, "yesterday", None, now)
    with pytest.raises(UserError, match="window is empty"):
        TraceWindow.from_options(None, "2026-01-03", None, now)
    # RFC 3339 allows a lower-case z
    assert TraceWindow.from_options(None, "2026-01-01T00:00:00z", None, now).start == (
        datetime(2026, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize(("since", "start", "end", "message"), [
    ("1000000d", None, None, None),  # a duration past year 1 is cut to what X-Ray keeps
    ("99999999999999w", None, None, "longer than any window"),
    (None, "0001-01-01T00:00:00+01:00", None, "not an ISO 8601 time in range"),
    (None, "2026-01-05", "2026-01-06", "starts in the future"),
    (None, "2025-01-01", "2025-02-01", "before the oldest traces X-Ray keeps"),
])
def test_windows_x_ray_cannot_serve_are_refused_or_cut(
    since: str | None, start: str | None, end: str | None, message: str | None
) -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    if message is not None:
        with pytest.raises(UserError, match=message):
            TraceWindow.from_options(since, start, end, now)
        return
    notices = Notices()
    window = TraceWindow.from_options(since, start, end, now, notices=notices)
    assert window == TraceWindow(now - timedelta(days=30), now)
    assert notices.count("x-ray-retention") == 1


def test_a_window_reaching_past_retention_starts_at_the_oldest_kept() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    notices = Notices()
    window = TraceWindow.from_options(None, "2025-01-01", None, now, notices=notices)
    assert window.start == now - timedelta(days=30) and len(list(window.chunks())) == 30
    assert notices.count("x-ray-retention") == 1


def test_traces_files_exclude_api_options(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_trace_arguments(parser)
    args = parser.parse_args(["--traces", str(tmp_path), "--since", "1h"])
    with pytest.raises(UserError, match="--since selects traces from the X-Ray API and "
                                        "does not apply to --traces files"):
        open_traces(args, Notices())
    args = parser.parse_args(["--traces", str(tmp_path), "--since", "1h", "--xray-group", "g"])
    with pytest.raises(UserError, match="--since, --xray-group select traces from the X-Ray "
                                        "API and do not apply"):
        open_traces(args, Notices())
    args = parser.parse_args(["--traces", str(tmp_path), "--settle-time", "30s"])
    with pytest.raises(UserError, match="--settle-time selects traces from the X-Ray API"):
        open_traces(args, Notices())


def test_progress_is_written_when_a_stream_is_given() -> None:
    import io

    client, stub = stubbed()
    stub.add_response("get_trace_summaries", summaries(1, 2))
    stub.add_response("batch_get_traces", {"Traces": [trace(1), trace(2)]})
    out = io.StringIO()
    with stub:
        fetch(client, query(), progress=out)
    assert out.getvalue().rstrip().endswith("X-Ray: 2/2 traces, 1 BatchGetTraces calls")


def test_progress_is_silent_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    client, stub = stubbed()
    stub.add_response("get_trace_summaries", summaries(1))
    stub.add_response("batch_get_traces", {"Traces": [trace(1)]})
    with stub:
        fetch(client, query())
    assert capsys.readouterr().err == ""


def test_max_concurrency_is_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_trace_arguments(parser)
    assert parser.parse_args([]).max_concurrency == 8
    with pytest.raises(SystemExit):
        parser.parse_args(["--max-concurrency", "0"])
    assert "not a whole number from 1 to 64" in capsys.readouterr().err


def test_kms_refusal_is_recognised_whatever_the_error_code() -> None:
    client, stub = stubbed()
    stub.add_client_error(
        "get_trace_summaries",
        "InvalidRequestException",
        "Unable to decrypt data: KMS key arn:aws:kms:eu-west-1:111122223333:key/abc is disabled",
    )
    with stub, pytest.raises(ServiceError) as caught:
        fetch(client, query(), identify=lambda: ROLE)
    assert "needs kms:Decrypt on the key arn:aws:kms:eu-west-1:111122223333:key/abc" in str(
        caught.value
    )



def test_real_sdk_documents_round_trip_through_moto_xray(aws: Emulator) -> None:
    from aws_xray_sdk.core import patch, xray_recorder

    capture = MemoryEmitter()
    xray_recorder.configure(emitter=capture, sampling=False, context_missing="IGNORE_ERROR")
    patch(["botocore"])
    ddb = aws.client("dynamodb")
    ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for number in range(6):
        with xray_recorder.in_segment(f"orders-fn-{number}"):
            ddb.get_item(TableName="orders", Key={"id": {"S": str(number)}})
    assert len(capture.documents) == 6
    response = aws.client("xray").put_trace_segments(TraceSegmentDocuments=capture.documents)
    assert response["UnprocessedTraceSegments"] == []

    client = make_client(session(), endpoint_url=aws.endpoint_url)
    now = datetime.now(UTC)
    stats = FetchStats()
    window = TraceWindow(now - timedelta(minutes=5), now + timedelta(minutes=1))
    traces = fetch(client, XrayQuery(window), stats=stats)
    assert sorted(d for t in traces for d in t.segments) == sorted(capture.documents)  # type: ignore[type-var]
    subsegments = [json.loads(str(t.segments[0]))["subsegments"][0] for t in traces]
    assert {(s["name"], s["aws"]["operation"]) for s in subsegments} == {("dynamodb", "GetItem")}
    assert stats.batch_calls == 2


@pytest.mark.parametrize("url", ["not a url", "ftp://xray.example", "https://",
                                 "https://xray.us-east-1.amazonaws.com:99999", "http://[::1"])
def test_a_bad_endpoint_url_is_an_input_error_not_a_traceback(url: str) -> None:
    # botocore raises a bare ValueError (at creation or on the first call): exit 1, a
    # traceback, and no verdict output in the action.
    session = boto3.session.Session(aws_access_key_id="a", aws_secret_access_key="b")
    with pytest.raises(UserError, match="--endpoint-url"):
        make_client(session, region="us-east-1", endpoint_url=url)


def test_a_vpc_endpoint_url_is_accepted() -> None:
    session = boto3.session.Session(aws_access_key_id="a", aws_secret_access_key="b")
    url = "https://vpce-0123-abcd.xray.us-east-1.vpce.amazonaws.com"
    assert make_client(session, region="us-east-1", endpoint_url=url).meta.endpoint_url == url


def test_a_trace_x_ray_truncated_is_read_and_named_as_missing_segments() -> None:
    from leastpriv_ci.usage import observe

    client, stub = stubbed()
    stub.add_response("get_trace_summaries", summaries(1, 2))
    stub.add_response("batch_get_traces", {"Traces": [
        {**trace(1), "LimitExceeded": True}, {**trace(2), "LimitExceeded": False}]})
    notices = Notices()
    with stub:
        traces = fetch(client, query(), notices)
    assert [t.truncated for t in traces] == [True, False]
    observation = observe(traces, notices=notices)
    assert observation.traces == 2
    (notice,) = [n for n in notices.items() if n.code == "trace-truncated"]
    assert notice.count == 1 and notice.examples == (f"xray:{trace_id(1)}",)
