"""Policy evaluation: IAM's decision order, conditional results and boundaries.

Rules from the IAM User Guide's "Policy evaluation logic" page, plus this tool's
*conditional* outcome for statements it cannot decide.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leastpriv_ci.loaders import load_file
from leastpriv_ci.policy.evaluate import (
    Decision,
    PolicyIndex,
    evaluate,
    statement_applies,
)
from leastpriv_ci.policy.model import Statement, unresolved
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Origin

POLICIES = Path(__file__).parent / "data" / "policy"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/notes"
INDEX = f"{TABLE}/index/byOwner"


def load(name: str) -> tuple[Statement, ...]:
    path = POLICIES / name
    return parse_policy(load_file(path), name=name, origin=Origin(file=str(path))).statements


def allow(actions: str | list[str], resources: str | list[str] = "*",
          **extra: object) -> Statement:
    return _statement("Allow", actions, resources, **extra)


def deny(actions: str | list[str], resources: str | list[str] = "*",
         **extra: object) -> Statement:
    return _statement("Deny", actions, resources, **extra)


def _statement(effect: str, actions: str | list[str], resources: str | list[str],
               **extra: object) -> Statement:
    doc: dict[str, object] = {"Effect": effect, "Action": actions, "Resource": resources}
    doc.update(extra)
    for key in ("NotAction", "NotResource"):
        if key in doc:
            doc.pop(key.removeprefix("Not"))
    policy = {"Version": "2012-10-17", "Statement": [doc]}
    return parse_policy(policy, name="inline").statements[0]


# --- IAM's decision order ---------------------------------------------------------------

def test_no_statement_applies_is_an_implicit_deny() -> None:
    result = evaluate([allow("s3:GetObject")], "sqs:SendMessage", "*")
    assert result.decision is Decision.IMPLICIT_DENY
    assert result.statements == ()


def test_an_allow_beats_the_implicit_deny() -> None:
    statement = allow("dynamodb:GetItem", TABLE)
    result = evaluate([statement], "dynamodb:GetItem", TABLE)
    assert result.decision is Decision.ALLOW
    assert result.statements == (statement,)


def test_an_explicit_deny_beats_any_allow() -> None:
    statements = load("shared_role.json")
    result = evaluate(statements, "dynamodb:DeleteTable", TABLE)
    assert result.decision is Decision.EXPLICIT_DENY
    assert [s.sid for s in result.statements] == ["NoTableDeletes"]
    assert result.statements[0].origin.line == 16


def test_every_applying_allow_is_reported() -> None:
    first, second = allow("s3:*"), allow("s3:GetObject", "arn:aws:s3:::b/*")
    result = evaluate([first, second], "s3:GetObject", "arn:aws:s3:::b/k")
    assert result.statements == (first, second)


def test_actions_are_case_insensitive_in_evaluation() -> None:
    assert evaluate([allow("DynamoDB:getitem", TABLE)], "dynamodb:GetItem", TABLE).allowed
    assert evaluate([allow("dynamodb:GetItem", TABLE)], "DYNAMODB:GETITEM", TABLE).allowed


def test_resources_are_case_sensitive_in_evaluation() -> None:
    result = evaluate([allow("dynamodb:GetItem", TABLE)], "dynamodb:GetItem", TABLE.upper())
    assert result.decision is Decision.IMPLICIT_DENY


# --- the shared-role pattern and other realistic policies -----------------------------------

def test_shared_role_wildcards_cover_tables_in_the_region() -> None:
    statements = load("shared_role.json")
    for action in ("dynamodb:PutItem", "dynamodb:Query", "dynamodb:DescribeTable"):
        assert evaluate(statements, action, TABLE).allowed, action
    assert evaluate(statements, "dynamodb:Query", INDEX).allowed
    other_region = "arn:aws:dynamodb:eu-west-1:123456789012:table/notes"
    assert not evaluate(statements, "dynamodb:PutItem", other_region).allowed


def test_sam_crud_template_covers_indexes_but_not_other_tables() -> None:
    statements = load("sam_dynamodb_crud.yaml")
    assert evaluate(statements, "dynamodb:Query", INDEX).allowed
    assert evaluate(statements, "dynamodb:PutItem", TABLE).allowed
    assert not evaluate(statements, "dynamodb:DeleteTable", TABLE).allowed
    other = "arn:aws:dynamodb:us-east-1:123456789012:table/notes-archive"
    assert not evaluate(statements, "dynamodb:GetItem", other).allowed


def test_managed_read_only_policy_does_not_grant_writes() -> None:
    statements = load("s3_read_only.json")
    assert evaluate(statements, "s3:GetObject", "arn:aws:s3:::b/k").allowed
    assert evaluate(statements, "s3:ListBucket", "arn:aws:s3:::b").allowed
    assert not evaluate(statements, "s3:PutObject", "arn:aws:s3:::b/k").allowed
    assert not evaluate(statements, "s3express:CreateSession", "*").allowed


# --- NotAction / NotResource ----------------------------------------------------------------

def test_not_action_allows_everything_except_the_listed_actions() -> None:
    # "Allow": NotAction "iam:*" — every action in every service except IAM
    statement = allow("x", "*", NotAction="iam:*")
    assert statement.not_actions
    assert evaluate([statement], "s3:GetObject", "arn:aws:s3:::b/k").allowed
    assert not evaluate([statement], "iam:CreateUser", "arn:aws:iam::1:user/u").allowed


def test_not_resource_allows_everything_except_the_listed_resources() -> None:
    statement = allow("s3:*", "x", NotResource=["arn:aws:s3:::secret", "arn:aws:s3:::secret/*"])
    assert evaluate([statement], "s3:GetObject", "arn:aws:s3:::public/k").allowed
    assert not evaluate([statement], "s3:GetObject", "arn:aws:s3:::secret/k").allowed


def test_deny_with_not_action_and_a_region_condition() -> None:
    statements = (*load("deny_outside_regions.json"), allow("*"))
    outside = {"aws:RequestedRegion": "us-east-1"}
    inside = {"aws:RequestedRegion": "eu-west-1"}
    assert evaluate(statements, "s3:GetObject", "*", context=outside).decision \
        is Decision.EXPLICIT_DENY
    assert evaluate(statements, "iam:ListRoles", "*", context=outside).allowed
    assert evaluate(statements, "s3:GetObject", "*", context=inside).allowed


# --- actions without resource types -------------------------------------------------------

def test_action_without_resource_types_is_granted_only_by_star() -> None:
    # s3:ListAllMyBuckets has no resource type: the request's resource is "*".
    assert evaluate([allow("s3:ListAllMyBuckets", "*")], "s3:ListAllMyBuckets", "*").allowed
    narrow = allow("s3:ListAllMyBuckets", "arn:aws:s3:::*")
    assert evaluate([narrow], "s3:ListAllMyBuckets", "*").decision is Decision.IMPLICIT_DENY


def test_not_resource_that_excludes_nothing_relevant_grants_star() -> None:
    statement = allow("s3:ListAllMyBuckets", "x", NotResource="arn:aws:s3:::secret")
    assert evaluate([statement], "s3:ListAllMyBuckets", "*").allowed


def test_lambda_basic_execution_covers_logs_writes() -> None:
    statements = load("lambda_basic_execution.json")
    group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:log-stream:2024/x"
    assert evaluate(statements, "logs:PutLogEvents", group).allowed
    assert not evaluate(statements, "logs:DeleteLogGroup", group).allowed


# --- conditional results -------------------------------------------------------------------

GUARD = {"Bool": {"aws:SecureTransport": "false"}}


def test_deny_with_undecidable_condition_makes_an_allow_conditional() -> None:
    grant, guard = allow("s3:GetObject"), deny("*", Condition=GUARD)
    result = evaluate([grant, guard], "s3:GetObject", "arn:aws:s3:::b/k")
    assert result.decision is Decision.CONDITIONAL
    assert result.statements == (guard,)


def test_deny_condition_decided_by_the_context() -> None:
    statements = [allow("s3:GetObject"), deny("*", Condition=GUARD)]
    secure = evaluate(statements, "s3:GetObject", "*", context={"aws:SecureTransport": True})
    insecure = evaluate(statements, "s3:GetObject", "*", context={"aws:SecureTransport": False})
    assert secure.decision is Decision.ALLOW
    assert insecure.decision is Decision.EXPLICIT_DENY


def test_conditional_allow_without_an_unconditional_one_is_conditional() -> None:
    grant = allow("s3:GetObject", Condition={"StringEquals": {"aws:PrincipalTag/team": "red"}})
    result = evaluate([grant], "s3:GetObject", "arn:aws:s3:::b/k")
    assert result.decision is Decision.CONDITIONAL
    assert result.statements == (grant,)


def test_an_unconditional_allow_settles_a_conditional_one() -> None:
    conditional = allow("s3:*", Condition={"StringEquals": {"aws:PrincipalTag/team": "red"}})
    plain = allow("s3:GetObject")
    result = evaluate([conditional, plain], "s3:GetObject", "arn:aws:s3:::b/k")
    assert result.decision is Decision.ALLOW
    assert result.statements == (plain,)


def test_a_certain_deny_beats_an_undecided_allow() -> None:
    conditional = allow("s3:*", Condition={"StringEquals": {"aws:PrincipalTag/team": "red"}})
    result = evaluate([conditional, deny("s3:GetObject")], "s3:GetObject", "*")
    assert result.decision is Decision.EXPLICIT_DENY


def test_an_undecided_deny_does_not_matter_without_an_allow() -> None:
    result = evaluate([deny("*", Condition=GUARD)], "s3:GetObject", "*")
    assert result.decision is Decision.IMPLICIT_DENY


def test_a_false_condition_means_the_statement_does_not_apply() -> None:
    grant = allow("s3:GetObject", Condition={"StringEquals": {"aws:PrincipalTag/team": "red"}})
    result = evaluate([grant], "s3:GetObject", "*", context={"aws:PrincipalTag/team": "blue"})
    assert result.decision is Decision.IMPLICIT_DENY


def test_unresolved_resource_is_conditional_never_silent() -> None:
    grant = Statement(effect="Allow", actions=("dynamodb:GetItem",),
                      resources=(unresolved("Fn::ImportValue NotesTable"),))
    assert evaluate([grant], "dynamodb:GetItem", TABLE).decision is Decision.CONDITIONAL
    barrier = Statement(effect="Deny", actions=("dynamodb:GetItem",),
                        resources=(unresolved("Fn::ImportValue NotesTable"),))
    result = evaluate([allow("dynamodb:*"), barrier], "dynamodb:GetItem", TABLE)
    assert result.decision is Decision.CONDITIONAL
    assert result.statements == (barrier,)


def test_unresolved_action_is_conditional() -> None:
    grant = Statement(effect="Allow", actions=(unresolved("Ref Actions"),), resources=("*",))
    assert evaluate([grant], "s3:GetObject", "*").decision is Decision.CONDITIONAL


def test_policy_variable_in_a_resource() -> None:
    grant = allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*")
    resource = "arn:aws:s3:::home/bob/notes.txt"
    assert evaluate([grant], "s3:GetObject", resource).decision is Decision.CONDITIONAL
    assert evaluate([grant], "s3:GetObject", resource, context={"aws:username": "bob"}).allowed
    assert evaluate([grant], "s3:GetObject", resource,
                    context={"aws:username": "eve"}).decision is Decision.IMPLICIT_DENY


def test_statement_applies_is_three_valued() -> None:
    conditional = allow("s3:GetObject", Condition=GUARD)
    assert statement_applies(conditional, "s3:GetObject", "*") is None
    assert statement_applies(conditional, "s3:GetObject", "*", {"aws:SecureTransport": "false"})
    assert statement_applies(conditional, "s3:PutObject", "*") is False


# --- permissions boundaries -----------------------------------------------------------------

def test_boundary_intersects_identity_policies() -> None:
    identity = load("shared_role.json")
    boundary = load("boundary_read_only.json")
    read = evaluate(identity, "dynamodb:GetItem", TABLE, boundary=boundary)
    assert read.decision is Decision.ALLOW
    assert [s.sid for s in read.statements] == ["SharedTables", "BoundaryReads"]
    write = evaluate(identity, "dynamodb:PutItem", TABLE, boundary=boundary)
    assert write.decision is Decision.IMPLICIT_DENY


def test_boundary_does_not_grant_by_itself() -> None:
    boundary = load("boundary_read_only.json")
    result = evaluate([], "s3:GetObject", "arn:aws:s3:::b/k", boundary=boundary)
    assert result.decision is Decision.IMPLICIT_DENY


def test_deny_in_boundary_is_explicit() -> None:
    boundary = [allow("*"), deny("s3:DeleteObject")]
    result = evaluate([allow("s3:*")], "s3:DeleteObject", "arn:aws:s3:::b/k", boundary=boundary)
    assert result.decision is Decision.EXPLICIT_DENY
    assert result.statements == (boundary[1],)


def test_conditional_boundary_makes_the_result_conditional() -> None:
    boundary = [allow("*", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}})]
    result = evaluate([allow("s3:*")], "s3:GetObject", "*", boundary=boundary)
    assert result.decision is Decision.CONDITIONAL
    assert result.statements == tuple(boundary)


def test_empty_boundary_denies_everything() -> None:
    result = evaluate([allow("*")], "s3:GetObject", "*", boundary=[])
    assert result.decision is Decision.IMPLICIT_DENY


# --- the bulk path ----------------------------------------------------------------------

REQUESTS = [
    ("dynamodb:GetItem", TABLE), ("dynamodb:DeleteTable", TABLE), ("dynamodb:Query", INDEX),
    ("s3:GetObject", "arn:aws:s3:::notes-uploads/a/b"), ("s3:GetObject", "arn:aws:s3:::other/k"),
    ("S3:PUTOBJECT", "arn:aws:s3:::notes-uploads/x"), ("sqs:SendMessage", "*"),
    ("logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:g"),
]


@pytest.mark.parametrize("name", ["shared_role.json", "sam_dynamodb_crud.yaml",
                                  "s3_read_only.json", "deny_outside_regions.json"])
def test_policy_index_agrees_with_evaluate(name: str) -> None:
    statements = (*load(name), allow("s3:*", Condition=GUARD), allow("*", NotAction="s3:*"))
    index = PolicyIndex(statements)
    for action, resource in REQUESTS * 2:  # twice: the memoised answer must be the same
        assert index.evaluate(action, resource) == evaluate(statements, action, resource)


def test_policy_index_with_boundary_and_context() -> None:
    identity, boundary = load("shared_role.json"), load("boundary_read_only.json")
    context = {"aws:SecureTransport": True}
    index = PolicyIndex(identity, boundary=boundary, context=context)
    for action, resource in REQUESTS:
        expected = evaluate(identity, action, resource, boundary=boundary, context=context)
        assert index.evaluate(action, resource) == expected
    assert index.allows("dynamodb:GetItem", TABLE)
    assert index.statements == identity


def test_role_with_policies_file_shape_parses_per_policy() -> None:
    document = load_file(POLICIES / "role_with_policies.yaml")
    statements = tuple(
        s for p in document["Policies"]
        for s in parse_policy(p["PolicyDocument"], name=p["PolicyName"]).statements
    )
    assert evaluate(statements, "dynamodb:GetItem", TABLE).decision is Decision.CONDITIONAL
    assert evaluate(statements, "dynamodb:GetItem", TABLE,
                    context={"aws:SecureTransport": "true"}).allowed


def test_an_ses_send_from_an_address_is_allowed_by_its_domain_s_or_a_parent_s_identity(
) -> None:
    identity = "arn:aws:ses:us-east-1:123456789012:identity/"
    address = f"{identity}orders@mail.example.com"

    def decide(action: str, pattern: str, effect: str = "Allow") -> str:
        statement = Statement(effect=effect, resources=(pattern,),
                              actions=(action if effect == "Allow" else "ses:*",))
        allow = Statement(effect="Allow", actions=("ses:*",), resources=("*",))
        found = evaluate([statement] if effect == "Allow" else [allow, statement],
                         action, address)
        return str(found.decision)

    for pattern in (f"{identity}mail.example.com", f"{identity}example.com",
                    f"{identity}*.com", address):
        assert decide("ses:SendEmail", pattern) == "allow", pattern
        assert decide("ses:SendRawEmail", pattern) == "allow", pattern
    for pattern in (f"{identity}example.org", f"{identity}com",
                    f"{identity}other@mail.example.com",
                    "arn:aws:ses:eu-west-1:123456789012:identity/example.com"):
        assert decide("ses:SendEmail", pattern) == "implicit_deny", pattern
    # a Deny refuses for certain only on every identity the send may be authorized on: on
    # the domain alone, only if the address is not verified, which the trace does not say
    assert decide("ses:SendEmail", f"{identity}*", "Deny") == "explicit_deny"
    assert decide("ses:SendEmail", f"{identity}example.com", "Deny") == "conditional"
    assert decide("ses:SendEmail", f"{identity}example.org", "Deny") == "allow"
    not_domain = Statement(effect="Deny", actions=("ses:SendEmail",),
                           resources=(f"{identity}example.com",), not_resources=True)
    allow = Statement(effect="Allow", actions=("ses:SendEmail",), resources=(f"{identity}*",))
    found = evaluate([allow, not_domain], "ses:SendEmail", address)
    assert found.decision == "conditional" and found.statements == (not_domain,)
    # a Deny of the domain that may not apply leaves it as open as a certain one
    maybe = Statement(effect="Deny", actions=("ses:SendEmail",),
                      resources=(f"{identity}example.com",),
                      conditions={"StringEquals": {"aws:PrincipalTag/team": ("mail",)}})
    found = evaluate([allow, maybe], "ses:SendEmail", address)
    assert found.decision == "conditional" and found.statements == (maybe,)
    # an Allow of the address that may not apply takes nothing from one of the domain
    on_domain = Statement(effect="Allow", actions=("ses:SendEmail",),
                          resources=(f"{identity}example.com",))
    maybe_address = Statement(effect="Allow", actions=("ses:SendEmail",), resources=(address,),
                              conditions={"StringEquals": {"aws:PrincipalTag/t": ("x",)}})
    found = evaluate([on_domain, maybe_address], "ses:SendEmail", address)
    assert found.decision == "allow" and found.statements == (on_domain,)
    # each identity is decided on its own: refused on every one, the send is refused
    deny_each = [allow, *(Statement(effect="Deny", actions=("ses:SendEmail",),
                                    resources=(r,)) for r in (address,
                                                              f"{identity}mail.example.com",
                                                              f"{identity}example.com"))]
    assert evaluate(deny_each, "ses:SendEmail", address).decision == "explicit_deny"
    # refused on the address for want of an Allow, on the domain by a Deny: refused, but
    # no Deny covers every identity, so not by a Deny for certain
    domain_only = [Statement(effect=e, actions=("ses:SendEmail",),
                             resources=(f"{identity}example.com",)) for e in ("Allow", "Deny")]
    assert evaluate(domain_only, "ses:SendEmail", address).decision == "implicit_deny"
    # a domain is case-insensitive: a sender may write it in capitals
    capitals = address.replace("mail.example.com", "Mail.Example.com")
    assert str(evaluate([Statement(effect="Allow", actions=("ses:SendEmail",),
                                   resources=(f"{identity}example.com",))],
                        "ses:SendEmail", capitals).decision) == "allow"
    # managing an identity is authorized on the identity named, not on its domain
    assert decide("ses:DeleteEmailIdentity", f"{identity}example.com") == "implicit_deny"
    assert decide("ses:GetEmailIdentity", f"{identity}example.com") == "implicit_deny"
