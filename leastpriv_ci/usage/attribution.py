"""Which principal made the calls of each segment document of a trace: the one it names,
else (a streamed subsegment document) the one of the segment holding it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leastpriv_ci.usage.documents import EMPTY_AWS, Node, walk
from leastpriv_ci.usage.principals import LAMBDA_FUNCTION, LAMBDA_SERVICE, Principal, detect

MAX_DETECTED = 50_000  # documents' principal fields remembered; bounds memory on hostile input


def owners(docs: Mapping[str, Node]) -> dict[str, str]:
    """Every segment and subsegment id → the id of the document that holds it."""
    owner: dict[str, str] = {}
    for segment_id, doc in docs.items():
        for node in walk(doc):
            node_id = node.id
            if isinstance(node_id, str):
                owner.setdefault(node_id, segment_id)
        owner[segment_id] = segment_id
    return owner


def detect_key(doc: Node) -> tuple[Any, ...] | None:
    """What :func:`detect` reads of a document (None: too rare to cache, ECS tasks)."""
    aws = doc.aws if doc.aws is not None else EMPTY_AWS
    if aws.ecs is not None:
        return None
    return (doc.origin, doc.name, aws.function_arn, doc.resource_arn)


class Attribution:
    """A trace's principal per document: its own, else (subsegment documents) its
    parent's."""

    def __init__(self, docs: Mapping[str, Node], owner: Mapping[str, str],
                 principal_map: Mapping[str, str],
                 detected: dict[tuple[Any, ...], Principal | None]) -> None:
        self.docs = docs
        self.owner = owner
        self.principal_map = principal_map
        self._memo: dict[str, Principal | None] = {}
        self._detected = detected  # shared across traces: the same function, the same answer

    def _detect(self, doc: Node) -> Principal | None:
        key = detect_key(doc)
        if key is None:
            return detect(doc, self.principal_map)
        try:
            return self._detected[key]
        except KeyError:
            found = detect(doc, self.principal_map)
            if len(self._detected) < MAX_DETECTED:
                self._detected[key] = found
            return found
        except TypeError:  # an unhashable field value: no caching
            return detect(doc, self.principal_map)

    def _parent(self, segment_id: str) -> str | None:
        doc = self.docs[segment_id]
        parent = doc.parent_id
        if not isinstance(parent, str):
            return None
        if doc.type == "subsegment":
            return self.owner.get(parent)
        # A segment is its own service and never inherits its caller, except a Lambda
        # function segment without its ARN (ADOT): the AWS::Lambda segment above names it.
        if doc.origin == LAMBDA_FUNCTION:
            above = self.docs.get(parent)
            if above is not None and above.origin == LAMBDA_SERVICE:
                return parent
        return None

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
            found = self._detect(self.docs[current])
            if found is not None:
                break
            current = self._parent(current)
        for visited in chain:
            self._memo[visited] = found
        return found
