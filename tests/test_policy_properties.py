"""Properties of evaluation that must hold for every policy (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from leastpriv_ci.policy.evaluate import Decision, PolicyIndex, evaluate, statement_applies
from leastpriv_ci.policy.model import Statement, unresolved

SERVICES = ["s3", "s3express", "dynamodb", "sqs"]
NAMES = ["GetObject", "PutObject", "GetItem", "GetRecords", "Query", "SendMessage",
         "ListAllMyBuckets"]
ARNS = [
    "arn:aws:s3:::notes",
    "arn:aws:s3:::notes/a/b.txt",
    "arn:aws:s3:::Notes/a/b.txt",
    "arn:aws:dynamodb:us-east-1:123456789012:table/notes",
    "arn:aws:dynamodb:us-east-1:123456789012:table/notes/index/byOwner",
    "arn:aws:dynamodb:eu-west-1:123456789012:table/notes",
    "arn:aws:sqs:us-east-1:123456789012:jobs",
    "arn:aws:lambda:us-east-1:123456789012:function:f:prod",
    "*",
]
RESOURCE_PATTERNS = [
    *ARNS,
    "arn:aws:s3:::notes/*", "arn:aws:s3:::*", "arn:aws:dynamodb:us-east-1:*:*",
    "arn:aws:dynamodb:*:123456789012:table/notes*", "arn:aws:*", "arn:aws:sqs:*:*:j?bs",
    "arn:aws:s3:::home/${aws:username}/*", unresolved("Fn::ImportValue X"),
]
CONDITIONS = [
    {},
    {"Bool": {"aws:SecureTransport": ("true",)}},
    {"StringEquals": {"aws:PrincipalTag/team": ("red",)}},
    {"StringNotEquals": {"aws:RequestedRegion": ("eu-west-1",)}},
    {"Null": {"aws:username": ("false",)}},
]

actions = st.builds(lambda s, n: f"{s}:{n}", st.sampled_from(SERVICES), st.sampled_from(NAMES))


@st.composite
def action_patterns(draw: st.DrawFn) -> str:
    service = draw(st.sampled_from(SERVICES))
    name = draw(st.sampled_from(NAMES))
    shape = draw(st.sampled_from(["exact", "service", "prefix", "one", "star", "wild-service"]))
    pattern = {
        "exact": f"{service}:{name}",
        "service": f"{service}:*",
        "prefix": f"{service}:{name[:3]}*",
        "one": f"{service}:?{name[1:]}",
        "star": "*",
        "wild-service": f"{service[:2]}*:{name}",
    }[shape]
    return pattern.swapcase() if draw(st.booleans()) else pattern


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> Statement:
    return Statement(
        effect=effect or draw(st.sampled_from(["Allow", "Deny"])),
        actions=tuple(draw(st.lists(action_patterns(), min_size=1, max_size=3))),
        resources=tuple(draw(st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1,
                                      max_size=3))),
        not_actions=draw(st.booleans()) and draw(st.booleans()),
        not_resources=draw(st.booleans()) and draw(st.booleans()),
        conditions=draw(st.sampled_from(CONDITIONS)),
    )


contexts = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={
        "aws:SecureTransport": st.booleans(),
        "aws:PrincipalTag/team": st.sampled_from(["red", "blue"]),
        "aws:RequestedRegion": st.sampled_from(["us-east-1", "eu-west-1"]),
        "aws:username": st.sampled_from(["bob", "eve"]),
    }),
)
policies = st.lists(statements(), max_size=6)
requests = st.tuples(actions, st.sampled_from(ARNS), contexts)

# How much access a decision grants, for "never removes / never adds" comparisons.
RANK = {Decision.EXPLICIT_DENY: 0, Decision.IMPLICIT_DENY: 0, Decision.CONDITIONAL: 1,
        Decision.ALLOW: 2}


@settings(max_examples=120, deadline=None)
@given(policies, statements(effect="Allow"), requests)
def test_adding_an_allow_never_removes_access(
    policy: list[Statement], extra: Statement, request: tuple[str, str, dict[str, object] | None]
) -> None:
    action, resource, context = request
    before = evaluate(policy, action, resource, context=context).decision
    after = evaluate([*policy, extra], action, resource, context=context).decision
    assert RANK[after] >= RANK[before]
    if before is Decision.EXPLICIT_DENY:
        assert after is Decision.EXPLICIT_DENY


@settings(max_examples=120, deadline=None)
@given(policies, statements(effect="Deny"), requests)
def test_adding_a_deny_never_adds_access(
    policy: list[Statement], extra: Statement, request: tuple[str, str, dict[str, object] | None]
) -> None:
    action, resource, context = request
    before = evaluate(policy, action, resource, context=context).decision
    after = evaluate([*policy, extra], action, resource, context=context).decision
    assert RANK[after] <= RANK[before]


@settings(max_examples=120, deadline=None)
@given(st.lists(action_patterns(), min_size=1, max_size=3), actions)
def test_not_action_is_the_complement_of_action(patterns: list[str], action: str) -> None:
    positive = Statement("Allow", tuple(patterns), ("*",))
    negative = Statement("Allow", tuple(patterns), ("*",), not_actions=True)
    assert statement_applies(positive, action, "*") is not statement_applies(
        negative, action, "*")


@settings(max_examples=120, deadline=None)
@given(policies, requests)
def test_actions_are_case_insensitive(
    policy: list[Statement], request: tuple[str, str, dict[str, object] | None]
) -> None:
    action, resource, context = request
    decisions = {evaluate(policy, variant, resource, context=context).decision
                 for variant in (action, action.upper(), action.lower(), action.swapcase())}
    assert len(decisions) == 1


@settings(max_examples=80, deadline=None)
@given(st.sampled_from([a for a in ARNS if a != "*"]), actions)
def test_resources_are_case_sensitive(arn: str, action: str) -> None:
    grant = Statement("Allow", ("*",), (arn,))
    assert evaluate([grant], action, arn).decision is Decision.ALLOW
    assert evaluate([grant], action, arn.swapcase()).decision is Decision.IMPLICIT_DENY


@settings(max_examples=80, deadline=None)
@given(policies, policies, st.lists(requests, min_size=1, max_size=5))
def test_boundary_only_narrows_and_index_agrees(
    identity: list[Statement], boundary: list[Statement],
    batch: list[tuple[str, str, dict[str, object] | None]],
) -> None:
    for action, resource, context in batch:
        alone = evaluate(identity, action, resource, context=context)
        bounded = evaluate(identity, action, resource, context=context, boundary=boundary)
        assert RANK[bounded.decision] <= RANK[alone.decision]
        if bounded.decision is Decision.ALLOW:
            assert evaluate(boundary, action, resource, context=context).allowed
        index = PolicyIndex(identity, boundary=boundary, context=context)
        assert index.evaluate(action, resource) == bounded
        assert index.evaluate(action, resource) == bounded  # memoised answer


@settings(max_examples=80, deadline=None)
@given(policies, requests)
def test_deciding_statements_explain_the_decision(
    policy: list[Statement], request: tuple[str, str, dict[str, object] | None]
) -> None:
    action, resource, context = request
    result = evaluate(policy, action, resource, context=context)
    for statement in result.statements:
        applies = statement_applies(statement, action, resource, context)
        if result.decision is Decision.CONDITIONAL:
            assert applies is None
        else:
            assert applies is True
            assert statement.is_allow == (result.decision is Decision.ALLOW)
    if result.decision is Decision.IMPLICIT_DENY:
        assert result.statements == ()
