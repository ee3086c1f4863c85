"""``observe``: raw traces → what each principal did, as IAM actions on resource ARNs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.collector import settled_heap
from leastpriv_ci.notices import Notices
from leastpriv_ci.records import MAX_SAMPLE_TRACES, Observation
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import functions, generic, s3, sns
from leastpriv_ci.usage.aggregate import Aggregate
from leastpriv_ci.usage.alongside import alongside, with_alongside
from leastpriv_ci.usage.attribution import Attribution, owners
from leastpriv_ci.usage.copies import Counted, Repeat
from leastpriv_ci.usage.denied import Denial, denial, denied_codes, refusals_behind
from leastpriv_ci.usage.documents import EMPTY_AWS, Aws, Node, documents, is_complete
from leastpriv_ci.usage.extract import UNKNOWN, Call, Target
from leastpriv_ci.usage.fields import Fields
from leastpriv_ci.usage.operations import operations
from leastpriv_ci.usage.principals import SERVICE, Principal
from leastpriv_ci.usage.resources import Where, partitions, recorded_region, resource_fields
from leastpriv_ci.usage.services import service_names

Extractor = Callable[[Call], list[Target]]
# Services whose fields differ from the data-driven rules get their own module.
EXTRACTORS: Mapping[str, Extractor] = {
    "s3": s3.targets, "lambda": functions.targets, "sns": sns.targets}

NUMBERS = (float, int)
MAX_CACHED_CALLS = 50_000  # distinct call shapes remembered; bounds memory on hostile input
UNKNOWN_RESOURCE = "unknown-resource"
# Stands for an S3 object key in an interpretation remembered for every key (no other
# field that reaches the ARN may hold a NUL: _keyed checks)
OBJECT_KEY = "\x00object-key\x00"
UNKNOWN_RESOURCE_TEXT = (
    'the trace names no resource for some calls; recorded on "*" (or the bucket\'s objects)'
)
COPY = "duplicate-trace"
COPY_TEXT = (
    "traces read more than once (the same file given twice, exports of overlapping "
    "windows, an in-progress trace and its finished copy) were counted once"
)
UNTRACKED = "in-progress-untracked"
UNTRACKED_TEXT = (
    "more segments in progress than are remembered at once: if their completed copies are "
    "read too, calls in both are counted twice (never lost)"
)
TRUNCATED = "trace-truncated"
TRUNCATED_TEXT = (
    "X-Ray marks these traces LimitExceeded (past its trace size limit): calls in the "
    "segments it dropped were not seen, so grants they need may look unused"
)
REQUEST_DEPENDENT = "request-dependent-operation"
REQUEST_DEPENDENT_TEXT = (
    "calls whose IAM actions depend on their request, which the trace does not record, are "
    "counted as possibly needing each of them: not as use, not as a missing grant; grants of "
    "those actions are excess only with that caveat"
)
NO_PERMISSION = "needs-no-permission"
NO_PERMISSION_TEXT = (
    "calls that IAM does not authorize against the caller's policies (the STS API "
    "reference: no permission is required, or the role's trust policy decides) were not "
    "counted: no grant allows or refuses them"
)
REFUSED_OUTSIDE = "denied-outside-role"
REFUSED_OUTSIDE_TEXT = (
    "denied calls whose error says a policy other than the role's own refused them (an "
    "organization's service or resource control policy, a VPC endpoint's, a session's, the "
    "resource's, or a permissions boundary): more grants in the role's policies do not let "
    "them through; change that policy, or the call"
)
UNATTRIBUTED = (
    "AWS calls in a segment that names no principal were not counted; map the segment "
    "name to a principal or role ARN with --principal-map"
)

ORPHAN = (
    "AWS calls in subsegment documents whose segment is not among their trace's documents "
    "were not counted; export whole traces (BatchGetTraces), or keep each trace's segment "
    "documents on consecutive lines of a JSON Lines file"
)


def observe(traces: Iterable[RawTrace], *, principal_map: Mapping[str, str] | None = None,
            notices: Notices | None = None) -> Observation:
    """Read traces (streaming) and return each principal's accesses.

    A bad segment document is skipped and counted in the observation's warnings.
    """
    notices = notices if notices is not None else Notices()
    reader = _Reader(principal_map or {}, notices)  # loads the catalog first
    count = 0
    with settled_heap():  # the catalog is not walked again by every full collection
        for trace in traces:
            count += 1
            reader.read(trace)
        reader.flush()
        principals = reader.totals.principals()
    return Observation(
        principals=principals,
        notices=notices,
        traces=count - reader.copies,
        window=(reader.earliest, reader.latest) if reader.earliest is not None
        and reader.latest is not None else None,
    )


@dataclass(slots=True)
class _Shape:
    """Calls that share everything that decides their targets, counted together."""

    principal: str
    targets: list[Target]
    region: str | None  # the calls', as recorded
    denied: bool = False
    # Denied calls only: another service refused (KMS behind S3), the call's own allowed
    behind: bool = False
    # Denied calls only: the policy outside the role's own that refused them (Denial.outside)
    outside: str | None = None
    count: int = 0
    first: float | None = None
    last: float | None = None
    trace_ids: list[str] = field(default_factory=list)

    def add(self, when: float | None, trace_id: str | None) -> None:
        """Count one more call at ``when`` (epoch seconds) in trace ``trace_id``."""
        self.count += 1
        if when is not None:
            first = self.first
            if first is None:  # so is last: they are set together
                self.first = self.last = when
            elif when < first:
                self.first = when
            elif (last := self.last) is not None and when > last:
                self.last = when
        samples = self.trace_ids
        if trace_id and len(samples) < MAX_SAMPLE_TRACES and trace_id not in samples:
            samples.append(trace_id)


class _Reader:
    def __init__(self, principal_map: Mapping[str, str], notices: Notices) -> None:
        self.principal_map = principal_map
        self.notices = notices
        self.totals = Aggregate()
        self.earliest: float | None = None
        self.latest: float | None = None
        self.names = service_names()
        self.operations = operations()
        self.resources = resource_fields()
        self.catalog = get_catalog()
        # the data files calls may need, loaded now rather than at the first such call
        denied_codes(), refusals_behind(), alongside(), partitions()
        self._where: dict[tuple[str | None, str | None, str | None], Where] = {}
        self._entries: dict[tuple[Any, ...], _Shape] = {}
        # Denied calls per shape and denial (what IAM's message named)
        self._refused: dict[tuple[tuple[Any, ...], Denial], _Shape] = {}
        # Targets per call shape (the principal only through the region and account it implies)
        self._interpreted: dict[tuple[Any, ...], list[Target]] = {}
        self._detected: dict[tuple[Any, ...], Principal | None] = {}
        self._denials: dict[tuple[Any, ...], Denial | None] = {}
        self._counted = Counted()  # each segment counted: a trace read again counts once
        self._reported: set[int] = set()  # bad documents warned about (not again in a copy)
        self.copies = 0  # traces read before (some segment counted already)

    def read(self, trace: RawTrace) -> None:
        docs = documents(trace, self.notices, self._reported)
        trace_id = trace.trace_id
        resolved: Attribution | None = None
        principals: list[Principal | None] = []
        walks: list[tuple[str, list[Node], Principal | None]] = []
        detected = self._detected
        earliest, latest = self.earliest, self.latest
        held: list[str] = []  # the documents holding calls
        bare: list[str] = []  # and the others
        complete = True  # none of them in progress
        for segment_id, doc in docs.items():
            if doc.type == "subsegment":
                # Standalone subsegment documents need the owner index and call
                # de-duplication; most traces have none, and take this direct path.
                self._read_streamed(docs, trace, None if trace_id is None
                                    else self._counted.repeat(trace_id, docs))
                return
            start: Any = doc.start_time
            end = doc.end_time if doc.end_time is not None else start
            if type(start) in NUMBERS and (earliest is None or start < earliest):
                self.earliest = earliest = float(start)
            if type(end) in NUMBERS and (latest is None or end > latest):
                self.latest = latest = float(end)
            # Attribution.of, short-cut for a document that names its principal (cached);
            # attribution.detect_key inlined
            own = doc.aws if doc.aws is not None else EMPTY_AWS
            key = ((doc.origin, doc.name, own.function_arn, doc.resource_arn)
                   if own.ecs is None else None)
            try:
                principal = detected.get(key) if key is not None else None
            except TypeError:  # an unhashable field value: never cached
                principal = None
            if principal is None:
                if resolved is None:
                    resolved = Attribution(docs, {}, self.principal_map, detected)
                principal = resolved.of(segment_id)
            principals.append(principal)
            if doc.in_progress is True:
                complete = False
            children = doc.subsegments
            if children:
                held.append(segment_id)
                if principal is not SERVICE:
                    walks.append((segment_id, children, principal))
            else:
                bare.append(segment_id)
        if trace_id is not None:
            repeat = self._counted.repeat(trace_id, docs, (held, bare, complete))
            if repeat is not None:  # in progress, or read before
                self._read_streamed(docs, trace, repeat)
                return
        if trace.truncated:
            self.notices.add(TRUNCATED, TRUNCATED_TEXT, trace.where)
        for seen in {p for p in principals if p is not None and p is not SERVICE}:
            self.totals.seen(seen.arn, seen.role)
        entries = self._entries
        for segment_id, children, principal in walks:
            # The hot loop, with _calls_below and _call inlined: every call of every trace
            # passes here. No nesting depth breaks it.
            arn = principal.arn if principal is not None else ""
            stack = list(children)
            while stack:
                node = stack.pop()
                children = node.subsegments
                if children:
                    stack.extend(children)
                aws = node.aws
                if aws is None:
                    continue
                operation = aws.operation
                if type(operation) is not str:
                    continue
                if principal is None:
                    if resolved is None:
                        resolved = Attribution(docs, {}, self.principal_map, detected)
                    self._attributed(node, None, segment_id, resolved, trace_id)
                    continue
                name = node.name
                if type(name) is not str:
                    name = ""
                if node.metadata is not None or node.annotations is not None:
                    self._uncached(node, aws, name, operation, principal, trace_id)
                    continue
                shape = (arn, name, aws)
                try:
                    entry = entries.get(shape)
                except TypeError:  # an object value (copy_source): counted on its own
                    self._uncached(node, aws, name, operation, principal, trace_id)
                    continue
                if entry is None or node.cause is not None:
                    self._new_or_failed(node, aws, name, operation, principal, trace_id, shape,
                                        entry)
                    continue
                # The common case: a call shape seen before, not failed: count it on its shape.
                when = node.start_time
                if type(when) is not float:
                    when = float(when) if type(when) is int else None
                entry.add(when, trace_id)

    def _read_streamed(self, docs: dict[str, Node], trace: RawTrace,
                       repeat: Repeat | None) -> None:
        """The general path: standalone subsegment documents joined to their segments, each
        call once, and a trace read again (``repeat``) counted once."""
        trace_id = trace.trace_id
        resolved = Attribution(docs, owners(docs), self.principal_map, self._detected)
        of = resolved.of
        if self._counted.untracked:
            self.notices.add(UNTRACKED, UNTRACKED_TEXT, times=self._counted.untracked)
            self._counted.untracked = 0
        if repeat is not None and repeat.earlier:  # read before: in no trace count again
            self.notices.add(COPY, COPY_TEXT, f"{trace_id} ({trace.where})")
            self.copies += 1
            seen = {of(segment_id) for segment_id in repeat.fresh(docs)}
            seen -= {of(segment_id) for segment_id in repeat.earlier}
        else:
            seen = {of(segment_id) for segment_id in docs}
            if trace.truncated:
                self.notices.add(TRUNCATED, TRUNCATED_TEXT, trace.where)
        for principal in seen:
            if principal is not None and principal is not SERVICE:
                self.totals.seen(principal.arn, principal.role)
        for node, segment_id in self._unique_calls(docs):
            if repeat is None or repeat.counts(node, segment_id):
                self._attributed(node, of(segment_id), segment_id, resolved, trace_id)

    def _attributed(self, node: Node, principal: Principal | None, segment_id: str,
                    resolved: Attribution, trace_id: str | None) -> None:
        if principal is SERVICE:
            return
        if principal is None:
            root = resolved.docs[resolved.root(segment_id)]
            parent = root.parent_id
            if root.type == "subsegment" and isinstance(parent, str) and parent \
                    and parent not in resolved.owner:
                # Its segment is not in the trace as read, not a segment that names nobody
                self.notices.add("orphan-subsegment", ORPHAN, f"{root.name} (parent {parent})")
            else:
                self.notices.add("unattributed", UNATTRIBUTED, str(root.name))
            return
        self._call(node, principal, trace_id)

    def _unique_calls(self, docs: Mapping[str, Node]) -> list[tuple[Node, str]]:
        """Each call once (a streamed subsegment may also be nested), completed copy first."""
        calls: dict[Any, tuple[Node, str]] = {}
        for segment_id, doc in docs.items():
            self._window(doc)
            for node in _calls_below(doc, include_self=doc.type == "subsegment"):
                node_id = node.id
                key = node_id if type(node_id) is str else id(node)
                previous = calls.get(key)
                if previous is None or (not is_complete(previous[0]) and is_complete(node)):
                    calls[key] = (node, segment_id)
        return list(calls.values())

    def _window(self, doc: Node) -> None:
        start: Any = doc.start_time
        end = doc.end_time if doc.end_time is not None else start
        if type(start) in NUMBERS and (self.earliest is None or start < self.earliest):
            self.earliest = float(start)
        if type(end) in NUMBERS and (self.latest is None or end > self.latest):
            self.latest = float(end)

    def _call(self, node: Node, principal: Principal, trace_id: str | None) -> None:
        """Count one AWS call (``node.aws.operation`` is a string)."""
        aws = node.aws
        if aws is None:  # callers pass calls only
            return
        operation: str = aws.operation
        name = node.name
        if type(name) is not str:
            name = ""
        # What decides a call's targets, so repeated calls are interpreted once. ADOT's
        # extra fields (metadata/annotations) are rare: those calls are always interpreted.
        if node.metadata is not None or node.annotations is not None:
            self._uncached(node, aws, name, operation, principal, trace_id)
            return
        shape = (principal.arn, name, aws)
        try:
            entry = self._entries.get(shape)
        except TypeError:  # an object value (copy_source): counted on its own
            self._uncached(node, aws, name, operation, principal, trace_id)
            return
        self._new_or_failed(node, aws, name, operation, principal, trace_id, shape, entry)

    def _new_or_failed(self, node: Node, aws: Aws, name: str, operation: str,
                       principal: Principal, trace_id: str | None, shape: tuple[Any, ...],
                       entry: _Shape | None) -> None:
        """A call whose shape is new, or a failed call: count it (interpreted once).

        A failed call that IAM did not deny (a throttle, a missing item) counts on its
        shape like any other; a denied one on its shape and denial, and also on its shape
        when the refusal was another service's (its own action was allowed).
        """
        if entry is None:
            targets = self._targets(node, aws, name, operation, principal, shape)
            if targets is None:
                return
            if len(self._entries) >= MAX_CACHED_CALLS:
                self.flush()
            entry = self._entries[shape] = _Shape(principal.arn, targets,
                                                  recorded_region(aws.region))
        if node.cause is not None:
            denied = self._denial(node)
            if denied is not None:
                refused = self._refused.get((shape, denied))
                if refused is None:
                    if len(self._refused) >= MAX_CACHED_CALLS:
                        self.flush()  # entry stays usable: only its targets are read
                    refused_targets, behind = self._refusal(entry.targets, denied)
                    # another service's refusal: its request's region is not the client's
                    refused = self._refused[(shape, denied)] = _Shape(
                        principal.arn, refused_targets, None if behind else entry.region, True,
                        behind, denied.outside)
                when = _when(node)
                refused.add(when, trace_id)
                if refused.behind:
                    entry.add(when, trace_id)
                return
        entry.add(_when(node), trace_id)

    def _uncached(self, node: Node, aws: Aws, name: str, operation: str,
                  principal: Principal, trace_id: str | None) -> None:
        """A call counted on its own: ADOT's extra fields, or a field value that cannot be
        part of a key (an object, an array holding one)."""
        targets = self._targets(node, aws, name, operation, principal, None)
        if targets is not None:
            self._record(node, targets, principal.arn, recorded_region(aws.region), _when(node),
                         trace_id)

    def _targets(self, node: Node, aws: Aws, name: str, operation: str,
                 principal: Principal, shape: tuple[Any, ...] | None) -> list[Target] | None:
        """What a call did, interpreted once per shape (None: not counted, and why noted).

        Of the principal only the region and account it implies matter, and of the name
        only the service it spells: calls of several functions, written with several SDKs,
        to one resource share the interpretation.
        """
        if shape is None:
            return self._interpret(node, aws, name, operation, self._where_for(aws, principal.arn))
        interpreted = self._interpreted
        targets = interpreted.get(shape)  # this principal's shape, seen before
        if targets is not None:
            return targets
        where = self._where_for(aws, principal.arn)
        prefix = self.names.prefix(name)
        if prefix == "s3" and _keyed(aws):
            targets = self._object_targets(node, aws, name, operation, where, shape[2])
        else:
            key = (where, prefix, *shape[2:])  # a Where first: never a shape
            targets = interpreted.get(key)
            if targets is None:
                targets = self._interpret(node, aws, name, operation, where)
                if targets is not None:
                    self._remember(key, targets)
        if targets is not None:
            self._remember(shape, targets)
        return targets

    def _object_targets(self, node: Node, aws: Aws, name: str, operation: str,
                        where: Where, hashable: Aws) -> list[Target] | None:
        """An S3 call on one object, interpreted once per bucket and request: object keys
        are unbounded, so the interpretation is remembered with :data:`OBJECT_KEY` in the
        key's place, and the key is filled in. (``hashable``: ``aws`` as its shape has it.)"""
        key = (where, "s3", msgspec.structs.replace(hashable, key=OBJECT_KEY))
        template = self._interpreted.get(key)
        if template is None:
            general = msgspec.structs.replace(aws, key=OBJECT_KEY)
            template = self._interpret(node, general, name, operation, where)
            if template is None:
                return None
            self._remember(key, template)
        object_key: str = aws.key
        return [Target(t.action, t.resource.replace(OBJECT_KEY, object_key), t.known, t.possible)
                if OBJECT_KEY in t.resource else t for t in template]

    def _remember(self, key: tuple[Any, ...], targets: list[Target]) -> None:
        interpreted = self._interpreted
        if len(interpreted) >= MAX_CACHED_CALLS:
            interpreted.clear()
        interpreted[key] = targets

    def _record(self, node: Node, targets: list[Target], arn: str, region: str | None,
                when: float | None, trace_id: str | None) -> None:
        """Count one call directly (calls whose shape is not cached), denied or not."""
        denied = self._denial(node) if node.cause is not None else None
        counted = [(targets, False, region)]
        if denied is not None:
            refused_targets, behind = self._refusal(targets, denied)
            counted = [(refused_targets, True, None if behind else region),
                       *(counted if behind else ())]
        samples = (trace_id,) if trace_id else ()
        for found, refused, where in counted:
            self._count(arn, found, refused, where, 1, when, when, samples)
        if denied is not None and denied.outside is not None:
            self._refused_outside(arn, counted[0][0], denied.outside, 1)

    def _refused_outside(self, principal: str, targets: list[Target], outside: str,
                         count: int) -> None:
        """Tell of ``count`` denied calls a policy outside the role's own refused."""
        for target in targets:
            self.notices.add(REFUSED_OUTSIDE, REFUSED_OUTSIDE_TEXT,
                             f"{principal} {target.action} on {target.resource}: {outside}",
                             times=count)
            self.totals.refused(principal, target.action, target.resource, outside)

    def _count(self, principal: str, targets: list[Target], denied: bool, region: str | None,
               count: int, first: float | None, last: float | None,
               samples: tuple[str, ...]) -> None:
        """Add ``count`` calls sent to ``region`` to the totals on each of their targets; an
        unknown resource is noted (a maybe's is not: it names none by nature). A maybe
        keeps no region: what a call may need of another service (KMS behind S3,
        ``iam:PassRole``) is not asked in the client's region."""
        merge = self.totals.merge
        for target in targets:
            if not target.known and not target.possible:
                self.notices.add(UNKNOWN_RESOURCE, UNKNOWN_RESOURCE_TEXT,
                                 f"{principal} {target.action}", times=count)
            merge(principal, target.action, target.resource, denied, target.known, count,
                  first, last, samples, target.possible,
                  None if target.possible else region)

    def _refusal(self, targets: list[Target], denied: Denial) -> tuple[list[Target], bool]:
        """What a denied call was refused, and whether the refusal was another service's
        behind the call (KMS behind S3 or SQS, IAM's PassRole), so that the call's own
        action was allowed. IAM's own words name the action (and resource) when its
        message does, and they win over the trace's; another service's action is never
        put on the call's own resource."""
        named = self.catalog.canonical(denied.action) if denied.action else None
        if named is None:
            return targets, False
        service = named.split(":", 1)[0]
        # not what AWS may call for the call (KMS); a request-dependent call has only maybes
        own = [t for t in targets if not t.possible] or targets
        behind = denied.behind or all(t.action.split(":", 1)[0] != service for t in own)
        if denied.resource is not None:
            return [Target(named, denied.resource)], behind
        if behind:  # on a resource the trace does not name
            return [Target(named, UNKNOWN, known=False)], True
        return list(dict.fromkeys(Target(named, t.resource, t.known) for t in own)), False

    def _denial(self, node: Node) -> Denial | None:
        """:func:`denial`, remembered per distinct list of exception messages and types."""
        cause = node.cause
        exceptions = cause.get("exceptions") if type(cause) is dict else None
        if type(exceptions) is not list:
            return denial(cause)
        key = tuple([(e.get("message"), e.get("type")) if type(e) is dict else None
                     for e in exceptions])
        try:
            return self._denials[key]
        except KeyError:
            found = self._denials[key] = denial(cause)
            if len(self._denials) > MAX_CACHED_CALLS:
                self._denials.clear()
            return found
        except TypeError:  # a message or type that is not text
            return denial(cause)

    def flush(self) -> None:
        """Move the per-shape counts into the totals (at the end, or when the cache is full)."""
        for shape in (*self._entries.values(), *self._refused.values()):
            if shape.count:
                self._count(shape.principal, shape.targets, shape.denied, shape.region,
                            shape.count, shape.first, shape.last, tuple(shape.trace_ids))
                if shape.outside is not None:
                    self._refused_outside(shape.principal, shape.targets, shape.outside,
                                          shape.count)
        self._entries.clear()
        self._refused.clear()

    def _interpret(self, node: Node, aws: Aws, name: str, operation: str,
                   where: Where) -> list[Target] | None:
        fields = Fields(aws, node.metadata, node.annotations)
        candidates = self.names.candidates(name, operation, fields)
        if not candidates:
            self.notices.add("unknown-service", "calls to a service the tool does not know were "
                             "not counted", f"{name} {operation}")
            return None
        # the first service with this operation, else the first (named as unknown below)
        service = next((c for c in candidates if self.operations.steps(c, operation)
                        or self.operations.request_dependent(c, operation)), candidates[0])
        if self.operations.needs_no_permission(service, operation):
            self.notices.add(NO_PERMISSION, NO_PERMISSION_TEXT, f"{service}:{operation}")
            return []
        steps = self.operations.steps(service, operation)
        if steps is None and (possible := self.operations.request_dependent(service, operation)):
            self.notices.add(REQUEST_DEPENDENT, REQUEST_DEPENDENT_TEXT, f"{service}:{operation} "
                             f"(needs some of {', '.join(s.action for s in possible)})")
            call = Call(service, operation, fields, where, possible, self.resources.specs(service))
            return [t._replace(possible=True) for t in generic.targets(call)]
        if steps is None:
            self.notices.add("unknown-operation", "operations with no matching IAM action were "
                             "not counted", f"{service}:{operation}")
            return None
        call = Call(service, operation, fields, where, steps, self.resources.specs(service))
        return with_alongside(EXTRACTORS.get(service, generic.targets)(call), operation)

    def _where_for(self, aws: Aws, principal_arn: str) -> Where:
        region = aws.region
        account = aws.account_id
        key = (region if isinstance(region, str) and region else None,
               account if isinstance(account, str) and account else None)
        # The principal fills in what the call lacks, so it is part of the key then
        cache_key = (key[0], key[1], principal_arn if None in key else None)
        found = self._where.get(cache_key)
        if found is None:
            parts = principal_arn.split(":")
            fallback_region = parts[3] if len(parts) > 4 and parts[3] else None
            fallback_account = parts[4] if len(parts) > 4 and parts[4] else None
            found = Where(key[0] or fallback_region, key[1] or fallback_account)
            if len(self._where) < 10_000:
                self._where[cache_key] = found
        return found


def _keyed(aws: Aws) -> bool:
    """Whether an S3 call's object key can be left out of its interpretation: a key is
    recorded, no copy source is, and no other text could hold :data:`OBJECT_KEY`."""
    key = aws.key
    if type(key) is not str or not key or aws.copy_source is not None:
        return False
    # An object ARN is the partition, the bucket and the key (resource_fields.yaml)
    name, bucket = aws.bucket_name, aws.bucket
    return not ((type(name) is str and "\x00" in name)
                or (type(bucket) is str and "\x00" in bucket))


def _calls_below(doc: Node, include_self: bool = False) -> Iterator[Node]:
    """The AWS-call subsegments inside a document, without recursion."""
    stack = [doc] if include_self else list(doc.subsegments or ())
    while stack:
        node = stack.pop()
        aws = node.aws
        if aws is not None and type(aws.operation) is str:
            yield node
        if node.subsegments:
            stack.extend(node.subsegments)


def _when(node: Node) -> float | None:
    when = node.start_time
    if type(when) is float:
        return when
    return float(when) if type(when) is int else None
