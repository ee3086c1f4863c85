"""Properties of the proposal, checked with the engine's own evaluation.

1. Every observed access (denied ones included: they show a need) is allowed.
2. No resource outside the observed set is granted: a probe on a resource nobody used
   is allowed only when it lies under the S3 prefix the used keys of that action share.
3. Fitting into a small size limit keeps (1) and grants no unobserved resource.
4. A use the role grants only under Condition blocks is allowed by the proposal in
   exactly the request contexts the role allows it in (or a warning says the blocks
   were not carried).
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leastpriv_ci.analysis.proposal import policy_size, propose_policies
from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.policy.evaluate import PolicyIndex
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Access
from tests.analysis_support import function_arn, table_arn

PRINCIPAL = function_arn("prop")
TABLES = [table_arn(n) for n in ("notes", "users", "audit")]
INDEXES = [t + "/index/" + i for t in TABLES[:2] for i in ("byDate", "byOwner")]
QUEUES = [f"arn:aws:sqs:us-east-1:123456789012:{q}" for q in ("jobs", "dead")]
BUCKETS = ("attachments", "exports")
TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query")
OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")
GLOBAL_ACTIONS = ("xray:PutTraceSegments", "s3:ListAllMyBuckets")

segment = st.sampled_from(["notes", "2024", "a", "b", "img", "x*y", "q?", "$k", "dir"])
keys = st.lists(segment, min_size=1, max_size=4).map("/".join)
object_arn = st.builds(lambda b, k: f"arn:aws:s3:::{b}/{k}", st.sampled_from(BUCKETS), keys)

accesses = st.one_of(
    st.builds(lambda a, r: (a, r), st.sampled_from(TABLE_ACTIONS),
              st.sampled_from(TABLES + INDEXES)),
    st.builds(lambda r: ("sqs:SendMessage", r), st.sampled_from(QUEUES)),
    st.builds(lambda a, r: (a, r), st.sampled_from(OBJECT_ACTIONS), object_arn),
    st.builds(lambda b: ("s3:ListBucket", f"arn:aws:s3:::{b}"), st.sampled_from(BUCKETS)),
    st.builds(lambda a: (a, "*"), st.sampled_from(GLOBAL_ACTIONS)),
)
usage = st.lists(st.tuples(accesses, st.booleans()), min_size=1, max_size=25)
probes = st.lists(
    st.one_of(
        st.builds(lambda a, r: (a, r), st.sampled_from(TABLE_ACTIONS),
                  st.sampled_from(TABLES + INDEXES)),
        st.builds(lambda a, r: (a, r), st.sampled_from(OBJECT_ACTIONS), object_arn),
        st.builds(lambda r: ("sqs:SendMessage", r), st.sampled_from(QUEUES)),
    ),
    min_size=1, max_size=20,
)


def derived_probes(observed: list[Access]) -> list[tuple[str, str]]:
    """Near misses of what was used: the resources a too-wide proposal would let through."""
    found = []
    for access in observed:
        if access.resource == "*":
            continue
        found.append((access.action, access.resource + "-other"))
        found.append((access.action, access.resource.replace("*", "Q").replace("?", "Q")))
        if access.resource.startswith("arn:aws:s3:::") and "/" in access.resource:
            bucket = access.resource.partition("/")[0]
            found.append((access.action, bucket + "/zz-unseen/key"))
            found.append((access.action, bucket + "/notes/zz-unseen"))
        found.append((access.action, table_arn("never-used")))
    return found


def records(items: list[tuple[tuple[str, str], bool]]) -> list[Access]:
    return [Access(PRINCIPAL, action, resource, denied=denied)
            for (action, resource), denied in items]


def index_of(documents: tuple[dict[str, object], ...]) -> PolicyIndex:
    statements = [s for i, doc in enumerate(documents)
                  for s in parse_policy(doc, name=f"proposal-{i}").statements]
    return PolicyIndex(statements)


def within_observed(action: str, resource: str, observed: list[Access], *,
                    any_action: bool) -> bool:
    """Whether granting (action, resource) stays inside what was observed."""
    same = [a for a in observed if any_action or a.action == action]
    if any(a.resource == resource for a in same):
        return True
    if not resource.startswith("arn:aws:s3:::") or "/" not in resource:
        return False
    bucket, _, key = resource[len("arn:aws:s3:::"):].partition("/")
    used = {a.resource.partition("/")[2] for a in same
            if a.resource.startswith(f"arn:aws:s3:::{bucket}/")}
    if not used:
        return False
    # keys are data: a grant may cover the one top-level folder all used keys share
    folders = {k.split("/", 1)[0] + "/" if "/" in k else "" for k in used}
    return key.startswith(folders.pop() if len(folders) == 1 else "")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(usage, probes)
@example(  # two keys under notes/: the grant must stop at notes/, not the whole bucket
    [(("s3:PutObject", "arn:aws:s3:::attachments/notes/a/1"), False),
     (("s3:PutObject", "arn:aws:s3:::attachments/notes/b/2"), True)],
    [("s3:PutObject", "arn:aws:s3:::attachments/img/1")],
)
def test_proposal_allows_every_use_and_no_unobserved_resource(items, probe) -> None:  # type: ignore[no-untyped-def]
    observed = records(items)
    proposal = propose_policies(observed, catalog=get_catalog())
    index = index_of(proposal.documents)
    for access in observed:
        assert index.allows(access.action, access.resource), access
    for action, resource in probe + derived_probes(observed):
        if index.allows(action, resource):
            assert within_observed(action, resource, observed, any_action=False), (
                action, resource, proposal.document)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(usage, probes)
def test_compressed_proposal_still_covers_use_and_grants_only_observed_resources(
        items, probe) -> None:  # type: ignore[no-untyped-def]
    observed = records(items)
    proposal = propose_policies(observed, limit=350)
    index = index_of(proposal.documents)
    for access in observed:
        assert index.allows(access.action, access.resource), access
    for action, resource in probe + derived_probes(observed):
        if index.allows(action, resource):
            # merging action sets may grant a used action on another *used* resource
            assert within_observed(action, resource, observed, any_action=True), (
                action, resource, proposal.documents)
    for doc in proposal.documents:
        statements = doc["Statement"]
        assert isinstance(statements, list)
        if len(statements) > 1:
            assert policy_size(doc) <= 350


@given(usage)
@settings(max_examples=50, deadline=None)
def test_proposal_is_deterministic(items) -> None:  # type: ignore[no-untyped-def]
    observed = records(items)
    assert propose_policies(observed).documents == propose_policies(
        list(reversed(observed))).documents


# (4): contexts over two condition keys, each present with one of two values or absent
_CONTEXTS = [{k: v for k, v in (("aws:SourceVpce", vpce), ("aws:PrincipalTag/team", team))
              if v is not None}
             for vpce in ("vpce-1", "vpce-2", None) for team in ("a", "b", None)]
_condition = st.fixed_dictionaries({}, optional={
    "StringEquals": st.fixed_dictionaries({}, optional={
        "aws:SourceVpce": st.sampled_from(["vpce-1", ["vpce-1", "vpce-2"]]),
        "aws:PrincipalTag/team": st.sampled_from(["a", "b"])}),
    "StringNotEquals": st.fixed_dictionaries({}, optional={
        "aws:SourceVpce": st.just("vpce-2")}),
    "StringLike": st.fixed_dictionaries({}, optional={
        "aws:PrincipalTag/team": st.sampled_from(["a*", "*"])}),
}).filter(lambda c: bool(c) and all(c.values()))
_statement = st.builds(
    lambda effect, action, resource, condition: {
        "Effect": effect, "Action": action, "Resource": resource,
        **({"Condition": condition} if condition else {})},
    st.sampled_from(["Allow", "Allow", "Allow", "Deny"]),
    st.sampled_from(["s3:GetObject", "s3:Get*", "s3:PutObject"]),
    st.sampled_from(["arn:aws:s3:::pics/*", "arn:aws:s3:::pics/a.png", "*",
                     "arn:aws:s3:::other/*"]),
    st.one_of(_condition, _condition, st.just({})),  # mostly conditional
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_statement, min_size=1, max_size=4))
def test_a_conditional_grant_keeps_its_conditions_in_every_context(
        statements: list[dict[str, object]]) -> None:
    from leastpriv_ci.analysis import role_proposal
    from leastpriv_ci.policy.evaluate import Decision, evaluate
    from leastpriv_ci.policy.model import Role

    policy = parse_policy({"Version": "2012-10-17", "Statement": statements}, name="role")
    role = Role(key="r", name="r", policies=(policy,))
    used = Access(PRINCIPAL, "s3:GetObject", "arn:aws:s3:::pics/a.png")
    if evaluate(policy.statements, used.action, used.resource).decision \
            is not Decision.CONDITIONAL:
        return
    proposal = role_proposal(role, [used], [PRINCIPAL], [])
    if any("does not repeat" in note for note in proposal.notes):
        return  # not carried, and said
    proposed = parse_policy(proposal.document, name="proposal").statements
    for context in _CONTEXTS:
        def allows(found: object, ctx: dict[str, str] = context) -> bool:
            return evaluate(found, used.action, used.resource,  # type: ignore[arg-type]
                            context=ctx, complete_context=True).allowed
        assert allows(proposed) == allows(policy.statements), (context, proposal.document)
