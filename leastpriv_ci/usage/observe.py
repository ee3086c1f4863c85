"""``observe``: raw traces → what each principal did, as IAM actions on resource ARNs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.notices import Notices
from leastpriv_ci.records import Observation
from leastpriv_ci.traces import RawTrace
from leastpriv_ci.usage import generic, s3
from leastpriv_ci.usage.aggregate import Aggregate
from leastpriv_ci.usage.denied import denial
from leastpriv_ci.usage.documents import Doc, documents, is_call, is_complete, walk
from leastpriv_ci.usage.extract import Call, Target
from leastpriv_ci.usage.fields import Fields
from leastpriv_ci.usage.operations import operations
from leastpriv_ci.usage.principals import SERVICE, Principal, detect
from leastpriv_ci.usage.resources import Where, resource_fields
from leastpriv_ci.usage.services import service_names

Extractor = Callable[[Call], list[Target]]
# Services whose fields differ from the data-driven rules get their own module.
EXTRACTORS: Mapping[str, Extractor] = {"s3": s3.targets}

UNATTRIBUTED = (
    "AWS calls in a segment that names no principal were not counted; map the segment "
    "name to a principal or role ARN with --principal-map"
)


def observe(traces: Iterable[RawTrace], *, principal_map: Mapping[str, str] | None = None,
            notices: Notices | None = None) -> Observation:
    """Read traces (streaming) and return each principal's accesses.

    A bad segment document is skipped and counted in the observation's warnings.
    """
    notices = notices if notices is not None else Notices()
    reader = _Reader(principal_map or {}, notices)
    count = 0
    for trace in traces:
        count += 1
        reader.read(trace)
    return Observation(
        principals=reader.totals.principals(),
        notices=notices,
        traces=count,
        window=(reader.earliest, reader.latest) if reader.earliest is not None
        and reader.latest is not None else None,
    )


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
        self._where: dict[tuple[str | None, str | None], Where] = {}

    def read(self, trace: RawTrace) -> None:
        docs = documents(trace, self.notices)
        owner: dict[str, str] = {}
        calls: dict[Any, tuple[Doc, str]] = {}
        for segment_id, doc in docs.items():
            self._window(doc)
            for node in walk(doc):
                node_id = node.get("id")
                if isinstance(node_id, str):
                    owner.setdefault(node_id, segment_id)
                if (node is not doc or doc.get("type") == "subsegment") and is_call(node):
                    key = node_id if isinstance(node_id, str) else id(node)
                    previous = calls.get(key)
                    if previous is None or (not is_complete(previous[0]) and is_complete(node)):
                        calls[key] = (node, segment_id)
            owner[segment_id] = segment_id
        resolved = _Principals(docs, owner, self.principal_map)
        for seen in {p for p in map(resolved.of, docs) if p is not None and p is not SERVICE}:
            self.totals.seen(seen.arn, seen.role)
        trace_id = trace.trace_id
        for node, segment_id in calls.values():
            found = resolved.of(segment_id)
            if found is SERVICE:
                continue
            if found is None:
                name = docs[resolved.root(segment_id)].get("name")
                self.notices.add("unattributed", UNATTRIBUTED, str(name))
                continue
            self._call(node, found, trace_id, trace.where)

    def _window(self, doc: Doc) -> None:
        start = doc.get("start_time")
        end = doc.get("end_time", start)
        if isinstance(start, int | float) and (self.earliest is None or start < self.earliest):
            self.earliest = float(start)
        if isinstance(end, int | float) and (self.latest is None or end > self.latest):
            self.latest = float(end)

    def _call(self, node: Doc, principal: Principal, trace_id: str | None, place: str) -> None:
        aws = node["aws"]
        operation: str = aws["operation"]
        fields = Fields(node)
        name = node.get("name")
        service = self.names.resolve(name if isinstance(name, str) else "", operation, fields)
        if service is None:
            self.notices.add("unknown-service", "calls to a service the tool does not know were "
                             "not counted", f"{name} {operation}")
            return
        steps = self.operations.steps(service, operation)
        if steps is None:
            self.notices.add("unknown-operation", "operations with no matching IAM action were "
                             "not counted", f"{service}:{operation}")
            return
        call = Call(service, operation, fields, self._where_for(aws, principal.arn), steps,
                    self.resources.specs(service))
        targets = EXTRACTORS.get(service, generic.targets)(call)
        denied = denial(node)
        if denied is not None and denied.action is not None:
            # IAM's own words name the action and resource it refused: they win.
            action = self.catalog.canonical(denied.action) or denied.action
            resource = denied.resource or "*"
            targets = [Target(action, resource, denied.resource is not None)]
        when = node.get("start_time")
        when = float(when) if isinstance(when, int | float) else None
        for target in targets:
            if not target.known:
                self.notices.add("unknown-resource", "the trace names no resource for some "
                                 "calls; recorded on \"*\" (or the bucket's objects)",
                                 f"{principal.arn} {target.action}")
            self.totals.add(principal.arn, target.action, target.resource, denied is not None,
                            target.known, when, trace_id)

    def _where_for(self, aws: Mapping[str, Any], principal_arn: str) -> Where:
        region = aws.get("region")
        account = aws.get("account_id")
        key = (region if isinstance(region, str) and region else None,
               account if isinstance(account, str) and account else None)
        found = self._where.get((key[0], key[1] or principal_arn))
        if found is None:
            parts = principal_arn.split(":")
            fallback_region = parts[3] if len(parts) > 4 and parts[3] else None
            fallback_account = parts[4] if len(parts) > 4 and parts[4] else None
            found = Where(key[0] or fallback_region, key[1] or fallback_account)
            if len(self._where) < 10_000:
                self._where[(key[0], key[1] or principal_arn)] = found
        return found


class _Principals:
    """Principal per document: its own, else (subsegment documents) its parent's."""

    def __init__(self, docs: Mapping[str, Doc], owner: Mapping[str, str],
                 principal_map: Mapping[str, str]) -> None:
        self.docs = docs
        self.owner = owner
        self.principal_map = principal_map
        self._memo: dict[str, Principal | None] = {}

    def _parent(self, segment_id: str) -> str | None:
        doc = self.docs[segment_id]
        if doc.get("type") != "subsegment":
            return None  # a segment is its own service: it never inherits its caller
        parent = doc.get("parent_id")
        return self.owner.get(parent) if isinstance(parent, str) else None

    def root(self, segment_id: str) -> str:
        seen = {segment_id}
        parent = self._parent(segment_id)
        while parent is not None and parent not in seen:
            seen.add(parent)
            segment_id = parent
            parent = self._parent(segment_id)
        return segment_id

    def of(self, segment_id: str) -> Principal | None:
        if segment_id in self._memo:
            return self._memo[segment_id]
        chain: list[str] = []
        current: str | None = segment_id
        found: Principal | None = None
        while current is not None and current not in chain:
            if current in self._memo:
                found = self._memo[current]
                break
            chain.append(current)
            found = detect(self.docs[current], self.principal_map)
            if found is not None:
                break
            current = self._parent(current)
        for visited in chain:
            self._memo[visited] = found
        return found
