"""Traces from the X-Ray API: GetTraceSummaries over a window, then BatchGetTraces.

The window is read in chunks of at most a day (X-Ray's limit per call), every page,
trace IDs deduplicated across chunks, by a thread of its own a couple of pages ahead.
Full traces are fetched five IDs per call (the API's maximum) by a small thread pool
and yielded as they arrive, so memory holds only the calls in flight. One client is
shared by every thread: its :class:`~leastpriv_ci.traces.pacing.Pacer` spaces all the
calls at the rate X-Ray accepts, and botocore retries the throttled ones (``standard``
retry mode). IDs X-Ray reports as unprocessed are asked for again a bounded number of
times. With a settle time, the window's last minutes are listed again until that long
after its end, and traces X-Ray indexed late are read too (and IDs still unprocessed
asked for again after each listing, as many times in all as the rounds).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO
from urllib.parse import urlsplit

from leastpriv_ci.errors import THROTTLED_CODES, ServiceError, UserError
from leastpriv_ci.notices import Notices
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.traces.pacing import Pacer
from leastpriv_ci.traces.window import TraceWindow

BATCH_SIZE = 5  # BatchGetTraces accepts at most five trace IDs per call
DEFAULT_CONCURRENCY = 8  # threads waiting on the pacer are cheap; 4 stalled while some backed off
DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_UNPROCESSED_ROUNDS = 3
DEFAULT_UNPROCESSED_DELAY = 1.0
LIST_AHEAD = 2  # GetTraceSummaries pages listed ahead of the BatchGetTraces calls
SETTLE_STEP = 10.0  # seconds between the settle time's listings
# Traces listed again while settling: those that started this long before the window's
# end (a Lambda function runs for up to 15 minutes and sends its segments as it ends)
LATE_TAIL = timedelta(minutes=15)
NOTICE_UNPROCESSED = "xray-unprocessed-traces"
NOTICE_STILL_ARRIVING = "xray-traces-still-arriving"
NOTICE_DUPLICATE = "xray-duplicate-trace"
_UNPROCESSED_MESSAGE = (
    "X-Ray left trace IDs unprocessed after {} retries (traces still being written, "
    "or expired); rerun later to include them"
)

ACCESS_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"}
)
BAD_CREDENTIALS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)
_PRINCIPAL = re.compile(r"(arn:aws[\w-]*:(?:iam|sts)::\d{12}:[\w+=,.@/-]+)")
_KMS_KEY = re.compile(r"(arn:aws[\w-]*:kms:[\w-]+:\d{12}:(?:key|alias)/[\w/-]+)")
# An access denial is a KMS one only when it names a KMS action or key, not X-Ray's
_KMS_REFUSED = re.compile(r"\bkms:|:kms:|KMS key|KMSAccessDenied|ciphertext", re.IGNORECASE)
_KMS_HINT = re.compile(r"\bkms\b|ciphertext|KMSAccessDenied|KMS\.|decrypt", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class XrayQuery:
    """What to read from X-Ray and how hard to push."""

    window: TraceWindow
    filter_expression: str | None = None
    group: str | None = None
    max_concurrency: int = DEFAULT_CONCURRENCY
    unprocessed_rounds: int = DEFAULT_UNPROCESSED_ROUNDS
    unprocessed_delay: float = DEFAULT_UNPROCESSED_DELAY
    settle: float = 0.0  # seconds after the window's end to keep listing for late traces
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC), compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


@dataclass
class FetchStats:
    """Counters of one fetch, for progress and for the benchmark."""

    summary_calls: int = 0
    batch_calls: int = 0
    listed: int = 0
    fetched: int = 0
    unprocessed_retried: int = 0
    unprocessed_left: int = 0
    late: int = 0  # traces first listed while settling
    completed: int = 0  # traces listed in progress, then complete while settling
    chunks: list[TraceWindow] = field(default_factory=list)


def check_endpoint_url(url: str) -> str:
    """``url`` if it is an http(s) URL with a host (and a valid port), else a UserError.

    botocore raises a bare ValueError for these, at client creation or at the first call:
    a traceback and exit 1, which reads as "the gate failed".
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError as exc:
        raise UserError(f"{url!r} is not a valid URL ({exc})", where="--endpoint-url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(
            f"{url!r} is not an http(s) URL with a host, like "
            "https://xray.us-east-1.amazonaws.com",
            where="--endpoint-url",
        )
    return url


def make_client(
    session: Any = None,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    max_concurrency: int = DEFAULT_CONCURRENCY,
    pacer: Pacer | None = None,
) -> Any:
    """An X-Ray client, from ``session`` or the default chain, that paces its requests.

    Throttled calls are retried by botocore (``standard`` mode, up to ``max_attempts``
    retries); ``pacer`` (a new :class:`~leastpriv_ci.traces.pacing.Pacer` by default),
    shared by every thread, spaces the requests at the rate X-Ray accepts: it replaces
    ``adaptive`` mode's rate limiter, which falls far short of X-Ray's limit (see
    ``pacing``). ``endpoint_url`` is honoured as given (an X-Ray VPC endpoint, or a
    local stand-in).
    """
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    from leastpriv_ci.credentials import default_session

    if endpoint_url is not None:
        check_endpoint_url(endpoint_url)
    session = session or default_session(os.environ)
    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        max_pool_connections=max(10, max_concurrency + 2),
    )
    try:
        client = session.client(
            "xray", region_name=region, endpoint_url=endpoint_url, config=config
        )
    except NoRegionError:
        raise UserError(
            "no AWS region for X-Ray; pass --region or set AWS_REGION / AWS_DEFAULT_REGION"
        ) from None
    (pacer or Pacer()).attach(client)
    return client


def fetch_traces(
    client: Any,
    query: XrayQuery,
    notices: Notices,
    *,
    stats: FetchStats | None = None,
    progress: TextIO | None = None,
    identify: Callable[[], str] | None = None,
) -> Iterator[RawTrace]:
    """Yield every trace in ``query.window`` matching its filter, as the calls complete.

    Raises :class:`ServiceError` naming the missing permission when X-Ray (or KMS behind
    it) refuses, and when the endpoint cannot be reached; ``identify`` names the caller
    in those messages (e.g. ``sts:GetCallerIdentity``) when X-Ray's message does not.
    """
    stats = stats if stats is not None else FetchStats()
    caller = _Caller(client, identify)
    expression = resolve_filter(caller, query.filter_expression, query.group)
    listed: set[str] = set()
    yielded: set[str] = set()
    # Traces listed in progress: while settling, one listed complete is read again (the
    # usage stage counts no segment twice)
    partial: set[str] | None = set() if query.settle > 0 else None
    unprocessed: set[str] = set()  # left unprocessed by a listing's reads
    asked: Counter[str] = Counter()  # times each was asked for again while settling
    once = replace(query, unprocessed_rounds=0)
    started = query.clock()
    ids = _read_ahead(_id_pages(caller, query.window, expression, stats, listed, partial))
    meter = _Progress(progress if progress is not None else _tty_stderr(), stats)
    try:
        yield from _fetch_all(caller, ids, query, notices, stats, meter, yielded, unprocessed)
        for late in _late_ids(caller, query, expression, stats, listed, partial, started,
                              notices):
            if late:
                yielded.difference_update(late)
                yield from _fetch_all(caller, iter(late), query, notices, stats, meter,
                                      yielded, unprocessed)
                continue
            # A listing is done: what X-Ray left unprocessed is asked for again, once (the
            # listings are the pause), each ID as many times in all as the rounds allow.
            again = sorted(i for i in unprocessed - yielded if asked[i] < query.unprocessed_rounds)
            if again:
                asked.update(again)
                stats.unprocessed_retried += len(again)
                yield from _fetch_all(caller, iter(again), once, notices, stats, meter,
                                      yielded, unprocessed)
    finally:
        meter.done()
    # one unprocessed at first and read whole once listed complete is not left
    stats.unprocessed_left = len(unprocessed - yielded)
    if stats.unprocessed_left:
        notices.add(NOTICE_UNPROCESSED, _UNPROCESSED_MESSAGE.format(query.unprocessed_rounds))


def fetch_ids(
    client: Any,
    trace_ids: Iterable[str],
    query: XrayQuery,
    notices: Notices,
    *,
    stats: FetchStats | None = None,
    identify: Callable[[], str] | None = None,
) -> Iterator[RawTrace]:
    """Yield the traces with these IDs (BatchGetTraces only; ``query.window`` is unused)."""
    stats = stats if stats is not None else FetchStats()
    caller = _Caller(client, identify)
    yield from _fetch_all(caller, iter(trace_ids), query, notices, stats, _Progress(None, stats))
    if stats.unprocessed_left:
        notices.add(NOTICE_UNPROCESSED, _UNPROCESSED_MESSAGE.format(query.unprocessed_rounds))


def resolve_filter(caller: _Caller | Any, expression: str | None, group: str | None) -> str | None:
    """The filter expression to send: the group's, the user's, or both joined by AND."""
    if group is None:
        return expression
    caller = caller if isinstance(caller, _Caller) else _Caller(caller)
    response = caller.call("GetGroup", GroupName=group)
    group_expression = (response.get("Group") or {}).get("FilterExpression")
    if not group_expression:
        return expression
    if not expression:
        return str(group_expression)
    return f"({group_expression}) AND ({expression})"


def iter_trace_ids(
    caller: _Caller | Any,
    window: TraceWindow,
    expression: str | None,
    stats: FetchStats | None = None,
) -> Iterator[str]:
    """Every trace ID in ``window`` (chunked, every page), each once."""
    for page in _id_pages(caller, window, expression, stats):
        yield from page


def _id_pages(
    caller: _Caller | Any,
    window: TraceWindow,
    expression: str | None,
    stats: FetchStats | None = None,
    seen: set[str] | None = None,
    partial: set[str] | None = None,
) -> Iterator[list[str]]:
    """The trace IDs first seen on each GetTraceSummaries page, one list per call
    (``seen``: the IDs listed before, added to as pages come). With ``partial``, the IDs
    of traces listed in progress (``IsPartial``) are kept there, and one listed complete
    since is on the page again, to be read whole."""
    caller = caller if isinstance(caller, _Caller) else _Caller(caller)
    stats = stats if stats is not None else FetchStats()
    seen = seen if seen is not None else set()
    for chunk in window.chunks():
        stats.chunks.append(chunk)
        request: dict[str, Any] = {"StartTime": chunk.start, "EndTime": chunk.end}
        if expression:
            request["FilterExpression"] = expression
        while True:
            stats.summary_calls += 1
            page = caller.call("GetTraceSummaries", **request)
            fresh: list[str] = []
            for summary in page.get("TraceSummaries", ()):
                trace_id = summary.get("Id")
                if not isinstance(trace_id, str):
                    continue
                in_progress = summary.get("IsPartial") is True
                # A trace spanning two chunks is listed by both.
                if trace_id not in seen:
                    seen.add(trace_id)
                    stats.listed += 1
                    fresh.append(trace_id)
                    if in_progress and partial is not None:
                        partial.add(trace_id)
                elif partial is not None and trace_id in partial and not in_progress:
                    partial.discard(trace_id)
                    stats.completed += 1
                    fresh.append(trace_id)
            yield fresh
            token = page.get("NextToken")
            if not token:
                break
            request["NextToken"] = token


def _late_ids(
    caller: _Caller,
    query: XrayQuery,
    expression: str | None,
    stats: FetchStats,
    seen: set[str],
    partial: set[str] | None,
    started: datetime,
    notices: Notices,
) -> Iterator[list[str]]:
    """The IDs of traces X-Ray indexed after they were first listed for, or completed
    since: the window's last minutes, listed again every few seconds until
    ``query.settle`` seconds after its end, one list per page and an empty one as each
    listing ends. A listing that began that late ends it; a window that ended long
    enough before the first listing has none."""
    if query.settle <= 0:
        return
    # from the window's end, or from the fetch's start when the window ends later (an
    # --end in the future): never more than the settle time
    deadline = min(query.window.end, started) + timedelta(seconds=query.settle)
    tail = TraceWindow(max(query.window.start, query.window.end - LATE_TAIL), query.window.end)
    listed_at, found = started, 0
    left = (deadline - query.clock()).total_seconds()
    if left > 0:  # a CI log would otherwise show nothing while it waits
        print(f"leastpriv-ci: listing the trace window's end again for {left:.0f} s more, for "
              "traces X-Ray lists late (settle time; 0 turns it off)", file=sys.stderr)
    while listed_at < deadline:
        wait = (deadline - query.clock()).total_seconds()
        if wait > 0:
            query.sleep(min(SETTLE_STEP, wait))
        listed_at = query.clock()
        before = stats.listed
        for page in _id_pages(caller, tail, expression, stats, seen, partial):
            if page:
                yield page
        found = stats.listed - before  # new traces, not the completed ones read again
        stats.late += found
        yield []
    if found:
        notices.add(NOTICE_STILL_ARRIVING, "X-Ray was still indexing new traces of the window "
                    "when the settle time ran out; a longer settle time reads them",
                    f"{found} trace(s) in the last listing")


def _read_ahead(pages: Iterator[list[str]], depth: int = LIST_AHEAD) -> Iterator[str]:
    """The IDs on ``pages``, listed by a thread of their own up to ``depth`` pages ahead.

    So the fetch does not stop while a GetTraceSummaries call waits out botocore's
    back-off after a throttle: there are IDs to fetch meanwhile.
    """
    # One worker: the calls to next() run one after the other, in order.
    lister = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xray-list")
    try:
        ahead = deque(lister.submit(next, pages, None) for _ in range(depth))
        while (page := ahead.popleft().result()) is not None:
            ahead.append(lister.submit(next, pages, None))
            yield from page
    finally:
        lister.shutdown(cancel_futures=True)


def _fetch_all(
    caller: _Caller,
    ids: Iterator[str],
    query: XrayQuery,
    notices: Notices,
    stats: FetchStats,
    meter: _Progress,
    yielded: set[str] | None = None,
    left_over: set[str] | None = None,
) -> Iterator[RawTrace]:
    limit = max(1, query.max_concurrency)
    yielded = yielded if yielded is not None else set()
    pending: set[str] = set()
    with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="xray") as pool:
        for round_number in range(query.unprocessed_rounds + 1):
            if round_number:
                if not pending:
                    break
                stats.unprocessed_retried += len(pending)
                # Unprocessed usually means X-Ray is still assembling the trace: give it time.
                query.sleep(query.unprocessed_delay * round_number)
                ids = iter(sorted(pending))
            left: set[str] = set()
            for traces, unprocessed in _run_batches(pool, caller, _batches(ids), limit, stats):
                left.update(unprocessed)
                for trace in traces:
                    if trace.trace_id in yielded:
                        notices.add(NOTICE_DUPLICATE, "X-Ray returned a trace twice", trace.where)
                        continue
                    if trace.trace_id is not None:
                        yielded.add(trace.trace_id)
                        left.discard(trace.trace_id)
                    stats.fetched += 1
                    meter.tick()
                    yield trace
            pending = left - yielded
    if left_over is None:
        stats.unprocessed_left += len(pending)
    else:  # the caller counts them once every listing's reads are done
        left_over.update(pending)


def _batches(ids: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for trace_id in ids:
        batch.append(trace_id)
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _run_batches(
    pool: ThreadPoolExecutor,
    caller: _Caller,
    batches: Iterator[list[str]],
    limit: int,
    stats: FetchStats,
) -> Iterator[tuple[list[RawTrace], list[str]]]:
    """Keep ``limit`` BatchGetTraces calls in flight; yield each result as it lands."""
    running: set[Future[tuple[list[RawTrace], list[str]]]] = set()
    exhausted = False
    try:
        while True:
            while len(running) < limit and not exhausted:
                batch = next(batches, None)
                if batch is None:
                    exhausted = True
                    break
                stats.batch_calls += 1
                running.add(pool.submit(_get_batch, caller, batch))
            if not running:
                return
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.discard(future)
                yield future.result()
    finally:
        for future in running:
            future.cancel()


def _get_batch(caller: _Caller, trace_ids: list[str]) -> tuple[list[RawTrace], list[str]]:
    traces: list[RawTrace] = []
    unprocessed: list[str] = []
    request: dict[str, Any] = {"TraceIds": trace_ids}
    while True:  # BatchGetTraces pages large traces with NextToken
        response = caller.call("BatchGetTraces", **request)
        for trace in response.get("Traces", ()):
            trace_id = trace.get("Id")
            documents = tuple(
                segment["Document"]
                for segment in trace.get("Segments", ())
                if isinstance(segment.get("Document"), str)
            )
            traces.append(
                RawTrace(
                    trace_id if isinstance(trace_id, str) else None,
                    documents,
                    f"xray:{trace_id}",
                    trace.get("LimitExceeded") is True,
                )
            )
        unprocessed.extend(response.get("UnprocessedTraceIds", ()))
        token = response.get("NextToken")
        if not token:
            break
        request["NextToken"] = token
    return _merge_pages(traces), unprocessed


def _merge_pages(traces: list[RawTrace]) -> list[RawTrace]:
    """One trace split over pages comes back once per page: join its segments."""
    merged: dict[str | None, RawTrace] = {}
    for trace in traces:
        earlier = merged.get(trace.trace_id)
        if earlier is None or trace.trace_id is None:
            merged[trace.trace_id if trace.trace_id is not None else str(id(trace))] = trace
        else:
            merged[trace.trace_id] = RawTrace(
                trace.trace_id, earlier.segments + trace.segments, earlier.where,
                earlier.truncated or trace.truncated,
            )
    return list(merged.values())


class _Caller:
    """Calls X-Ray and turns every failure a user can fix into a one-line error."""

    def __init__(self, client: Any, identify: Callable[[], str] | None = None) -> None:
        self.client = client
        self._identify = identify
        self._identity: str | None = None

    def call(self, operation: str, **request: Any) -> dict[str, Any]:
        from botocore import exceptions as bce

        method: Callable[..., dict[str, Any]] = getattr(self.client, _snake(operation))
        try:
            return method(**request)
        except bce.ClientError as error:
            raise self._explain(operation, request, error) from None
        except (bce.EndpointConnectionError, bce.ConnectTimeoutError) as error:
            raise ServiceError(
                f"cannot reach X-Ray at {self.client.meta.endpoint_url} ({error}); check "
                "--endpoint-url, --region and the network"
            ) from None
        except bce.ReadTimeoutError:
            raise ServiceError(
                f"X-Ray at {self.client.meta.endpoint_url} did not answer {operation} in time"
            ) from None
        except bce.NoCredentialsError:
            raise ServiceError(
                "no AWS credentials found for X-Ray; configure the scanning role "
                "(role-to-assume in the action, or AWS_* / a profile on the command line)"
            ) from None

    def _explain(self, operation: str, request: dict[str, Any], error: Any) -> UserError:
        details = error.response.get("Error", {})
        code = str(details.get("Code", ""))
        message = str(details.get("Message", ""))
        # X-Ray documents no error code of its own for a KMS refusal: recognise it by
        # whatever names KMS, whichever code it arrives with; not by the caller's ARN the
        # message quotes (a role named "kms-audit" refused xray:… is refused X-Ray).
        about = _PRINCIPAL.sub("", message)
        if code not in THROTTLED_CODES and (_KMS_HINT.search(code) or _KMS_HINT.search(about)) and (
                code not in ACCESS_DENIED or _KMS_REFUSED.search(about)):
            return ServiceError(self._kms_message(operation, message))
        if code in ACCESS_DENIED or code in BAD_CREDENTIALS:
            if code in ACCESS_DENIED:
                who = self._who(message)
                return ServiceError(
                    f"{who} is not allowed to call X-Ray {operation}: grant "
                    f"xray:{operation} to the scanning role ({code}: {message})"
                )
            return ServiceError(
                f"AWS rejected the credentials used for X-Ray {operation} ({code}: {message}); "
                "refresh them or check the role the action assumes"
            )
        if code in THROTTLED_CODES:
            attempts = self.client.meta.config.retries.get("total_max_attempts")
            return ServiceError(
                f"X-Ray kept throttling {operation} after {attempts} attempts (other "
                "clients may be using the account's X-Ray request quota); retry later"
            )
        if code == "InvalidRequestException" and operation == "GetGroup":
            return UserError(
                f"X-Ray has no group {request.get('GroupName')!r} ({message}); check --xray-group"
            )
        if code == "InvalidRequestException" and "FilterExpression" in request:
            return UserError(
                f"X-Ray rejected the filter expression {request['FilterExpression']!r} "
                f"({message}); check --filter-expression / the group's filter"
            )
        return ServiceError(f"X-Ray {operation} failed: {code}: {message}")

    def _kms_message(self, operation: str, message: str) -> str:
        key = _KMS_KEY.search(message)
        key_name = key.group(1) if key else self._encryption_key()
        who = self._who(message)
        return (
            f"X-Ray could not decrypt the traces for {operation}: {who} needs kms:Decrypt on "
            f"the key {key_name} that encrypts X-Ray data (grant it in the role's policy and "
            f"the key policy) ({message})"
        )

    def _encryption_key(self) -> str:
        try:
            config = self.client.get_encryption_config().get("EncryptionConfig", {})
        except Exception:  # best effort: the message is still useful without the key
            return "(unknown: xray:GetEncryptionConfig shows it)"
        return str(config.get("KeyId") or "(unknown: xray:GetEncryptionConfig shows it)")

    def _who(self, message: str) -> str:
        found = _PRINCIPAL.search(message)
        if found:
            return found.group(1)
        if self._identity is None:
            self._identity = _caller_identity(self._identify)
        return self._identity


def _caller_identity(identify: Callable[[], str] | None) -> str:
    """The ARN the credentials belong to, or a neutral name when it cannot be told."""
    if identify is not None:
        try:
            return identify()
        except Exception:  # the identity only decorates the message  # noqa: S110
            pass
    return "the scanning role"


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _tty_stderr() -> TextIO | None:
    return sys.stderr if sys.stderr.isatty() else None


class _Progress:
    """A one-line counter on a terminal; silent when stderr is a pipe or a CI log."""

    def __init__(self, stream: TextIO | None, stats: FetchStats) -> None:
        self._stream = stream
        self._stats = stats
        self._last = 0.0

    def tick(self) -> None:
        if self._stream is None:
            return
        now = time.monotonic()
        if now - self._last >= 0.2:
            self._last = now
            self._write()

    def done(self) -> None:
        if self._stream is not None:
            self._write()
            self._stream.write("\n")
            self._stream.flush()

    def _write(self) -> None:
        assert self._stream is not None
        stats = self._stats
        self._stream.write(
            f"\rX-Ray: {stats.fetched}/{stats.listed} traces, "
            f"{stats.batch_calls} BatchGetTraces calls"
        )
        self._stream.flush()
