"""Action and resource matching, each vector named after the IAM rule it checks.

Rules quoted from the IAM User Guide: "IAM JSON policy elements: Action", "...: Resource",
"IAM policy elements: Variables and tags", and the service ARN formats.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from leastpriv_ci.policy.match import (
    action_match,
    action_matches,
    pattern_covers,
    patterns_intersect,
    residuals_after,
    resource_matches,
    statement_matches,
    widest,
)
from leastpriv_ci.policy.model import VERSION_2008, Statement, unresolved

ACTION_VECTORS = [
    # "The prefix and the action name are case insensitive" (iam:listaccesskeys example)
    ("iam:listaccesskeys", "iam:ListAccessKeys", True, "case-insensitive name"),
    ("IAM:ListAccessKeys", "iam:ListAccessKeys", True, "case-insensitive prefix"),
    # "Action": "s3:*" — all Amazon S3 actions
    ("s3:*", "s3:GetObject", True, "service wildcard"),
    ("s3:*", "s3express:CreateSession", False, "prefix must match exactly: s3 is not s3express"),
    ("s3*:*", "s3express:CreateSession", True, "wildcard in the prefix"),
    # "Action": "iam:*AccessKey*"
    ("iam:*AccessKey*", "iam:CreateAccessKey", True, "wildcard inside the name"),
    ("iam:*AccessKey*", "iam:ListAccessKeys", True, "wildcard around the name"),
    ("iam:*AccessKey*", "iam:ListUsers", False, "wildcard does not invent text"),
    ("dynamodb:Get*", "dynamodb:GetItem", True, "trailing wildcard"),
    ("dynamodb:Get*", "dynamodb:BatchGetItem", False, "trailing wildcard anchors the start"),
    ("s3:?etObject", "s3:GetObject", True, "? is exactly one character"),
    ("s3:?etObject", "s3:etObject", False, "? is not zero characters"),
    ("s3:Get?bject", "s3:GetObject", True, "? in the middle"),
    ("s3:[G]etObject", "s3:GetObject", False, "[ is a literal, not a character class"),
    ("*", "anything:AtAll", True, "bare * matches every action"),
    ("s3:GetObject", "s3:GetObjectAcl", False, "no implicit prefix match"),
]


@pytest.mark.parametrize(("pattern", "action", "expected", "rule"), ACTION_VECTORS,
                         ids=[v[3] for v in ACTION_VECTORS])
def test_action_matching_rules(pattern: str, action: str, expected: bool, rule: str) -> None:
    assert action_matches(pattern, action) is expected, rule


def test_unresolved_action_pattern_is_unknown_not_a_match() -> None:
    pattern = unresolved("Fn::ImportValue Actions")
    assert action_match(pattern, "s3:GetObject") is None
    assert action_matches(pattern, "s3:GetObject") is False


RESOURCE_VECTORS = [
    ("*", "arn:aws:s3:::bucket/key", True, "bare * matches every resource"),
    ("*", "*", True, "bare * covers the * of actions without resource types"),
    ("arn:aws:s3:::*", "*", False, "an ARN pattern does not cover the * request resource"),
    # "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*" is objects only
    ("arn:aws:s3:::bucket", "arn:aws:s3:::bucket/key", False, "bucket ARN is not its objects"),
    ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", False, "objects ARN is not the bucket"),
    ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c.txt", True,
     "* in the resource part crosses /"),
    ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/2024-01-01T00:00:00Z", True,
     "* in the resource part crosses :"),
    ("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/key", False, "resources are case-sensitive"),
    ("arn:aws:s3:::bucket/?.txt", "arn:aws:s3:::bucket/a.txt", True, "? is one character"),
    ("arn:aws:s3:::bucket/?.txt", "arn:aws:s3:::bucket/ab.txt", False, "? is not two"),
    ("arn:aws:s3:::bucket/[a].txt", "arn:aws:s3:::bucket/a.txt", False, "[ is literal"),
    # DynamoDB: table ARN vs its indexes and streams
    ("arn:aws:dynamodb:us-east-1:123456789012:table/Books",
     "arn:aws:dynamodb:us-east-1:123456789012:table/Books/index/ByAuthor", False,
     "table ARN does not cover its indexes"),
    ("arn:aws:dynamodb:us-east-1:123456789012:table/Books/index/*",
     "arn:aws:dynamodb:us-east-1:123456789012:table/Books/index/ByAuthor", True,
     "index wildcard covers an index"),
    ("arn:aws:dynamodb:us-east-1:123456789012:table/Books*",
     "arn:aws:dynamodb:us-east-1:123456789012:table/Books/index/ByAuthor", True,
     "trailing * after the table name covers indexes"),
    ("arn:aws:dynamodb:us-east-1:*:*",
     "arn:aws:dynamodb:us-east-1:123456789012:table/notes", True,
     "account and resource wildcards (the shared-role pattern)"),
    ("arn:aws:dynamodb:us-east-1:*:*",
     "arn:aws:dynamodb:eu-west-1:123456789012:table/notes", False, "region is still checked"),
    # Lambda: unqualified vs qualified ARNs
    ("arn:aws:lambda:us-east-1:123456789012:function:f",
     "arn:aws:lambda:us-east-1:123456789012:function:f:prod", False,
     "function ARN does not cover its alias"),
    ("arn:aws:lambda:us-east-1:123456789012:function:f",
     "arn:aws:lambda:us-east-1:123456789012:function:f:7", False,
     "function ARN does not cover a version"),
    ("arn:aws:lambda:us-east-1:123456789012:function:f:*",
     "arn:aws:lambda:us-east-1:123456789012:function:f", False,
     "function:f:* does not cover the unqualified function"),
    ("arn:aws:lambda:us-east-1:123456789012:function:f:*",
     "arn:aws:lambda:us-east-1:123456789012:function:f:prod", True,
     "function:f:* covers aliases"),
    ("arn:aws:lambda:us-east-1:123456789012:function:f*",
     "arn:aws:lambda:us-east-1:123456789012:function:f:prod", True,
     "function:f* covers qualified and unqualified"),
    ("arn:aws:lambda:us-east-1:123456789012:function:f",
     "arn:aws:lambda:us-east-1:123456789012:function:f", True, "exact ARN"),
    # Segment rules: a * that ends a segment may run across later colons.
    ("arn:aws:logs:*", "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/f:*", True,
     "a segment-final * runs across later colons"),
    ("arn:aws:logs:*:*:*", "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s", True,
     "segment wildcards in the CloudWatch Logs example"),
    ("arn:aws:dynamodb:us-*-1:*:table/t", "arn:aws:dynamodb:us-east-1:1:table/t", True,
     "* inside a segment"),
    ("arn:aws:dynamodb:us-*-1:*:table/t", "arn:aws:dynamodb:us-east:x-1:1:table/t", False,
     "a * inside a header segment does not cross a colon"),
    ("arn:aws:iam::123456789012:role/?", "arn:aws:iam::123456789012:role/a", True,
     "? in the resource part"),
    ("arn:aws:sqs:us-east-1:123456789012:queue", "arn:aws:sqs:us-east-1:123456789012:queue2",
     False, "no implicit prefix match"),
    ("arn:aws-cn:s3:::bucket", "arn:aws:s3:::bucket", False, "partition is matched"),
]


@pytest.mark.parametrize(("pattern", "resource", "expected", "rule"), RESOURCE_VECTORS,
                         ids=[v[3] for v in RESOURCE_VECTORS])
def test_resource_matching_rules(pattern: str, resource: str, expected: bool, rule: str) -> None:
    assert resource_matches(pattern, resource) is expected, rule


def test_unresolved_resource_is_unknown() -> None:
    pattern = unresolved("Fn::ImportValue TableArn")
    assert resource_matches(pattern, "arn:aws:dynamodb:us-east-1:1:table/t") is None


# "IAM policy elements: Variables and tags"
HOME = "arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*"


def test_variable_is_substituted_from_the_context() -> None:
    context = {"aws:username": "bob"}
    assert resource_matches(HOME, "arn:aws:s3:::amzn-s3-demo-bucket/home/bob/notes.txt",
                            context=context) is True
    assert resource_matches(HOME, "arn:aws:s3:::amzn-s3-demo-bucket/home/alice/notes.txt",
                            context=context) is False


def test_variable_keys_are_case_insensitive() -> None:
    assert resource_matches(HOME, "arn:aws:s3:::amzn-s3-demo-bucket/home/bob/x",
                            context={"AWS:UserName": "bob"}) is True


def test_tag_variable() -> None:
    pattern = "arn:aws:dynamodb:us-east-1:1:table/${aws:PrincipalTag/team}-*"
    context = {"aws:PrincipalTag/team": "red"}
    assert resource_matches(pattern, "arn:aws:dynamodb:us-east-1:1:table/red-notes",
                            context=context) is True
    assert resource_matches(pattern, "arn:aws:dynamodb:us-east-1:1:table/blue-notes",
                            context=context) is False


def test_unresolvable_variable_matches_nothing() -> None:
    # "If the key is not present in the request context ... the policy element
    # that contains the variable does not match"
    assert resource_matches(HOME, "arn:aws:s3:::amzn-s3-demo-bucket/home/bob/x",
                            context={"aws:userid": "AIDA"}, complete=True) is False


def test_variable_missing_from_a_partial_context_is_unknown() -> None:
    # a context that is not the whole request does not prove the key absent
    assert resource_matches(HOME, "arn:aws:s3:::amzn-s3-demo-bucket/home/bob/x",
                            context={"aws:userid": "AIDA"}) is None
    pattern = "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'company-wide'}/*"
    assert resource_matches(pattern, "arn:aws:s3:::bucket/company-wide/x", context={}) is None


def test_variable_without_any_context_is_unknown() -> None:
    assert resource_matches(HOME, "arn:aws:s3:::amzn-s3-demo-bucket/home/bob/x") is None


def test_variable_default_value_when_key_absent() -> None:
    pattern = "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'company-wide'}/*"
    assert resource_matches(pattern, "arn:aws:s3:::bucket/company-wide/x", context={},
                            complete=True) is True
    assert resource_matches(pattern, "arn:aws:s3:::bucket/red/x",
                            context={"aws:PrincipalTag/team": "red"}) is True
    assert resource_matches(pattern, "arn:aws:s3:::bucket/company-wide/x",
                            context={"aws:PrincipalTag/team": "red"}) is False


@pytest.mark.parametrize(("variable", "literal"), [("${*}", "*"), ("${?}", "?"), ("${$}", "$")])
def test_special_character_variables_are_literals(variable: str, literal: str) -> None:
    pattern = f"arn:aws:s3:::bucket/a{variable}b"
    assert resource_matches(pattern, f"arn:aws:s3:::bucket/a{literal}b", context={}) is True
    # the substituted character is literal text, not a wildcard
    assert resource_matches(pattern, "arn:aws:s3:::bucket/aXb", context={}) is False


def test_substituted_values_are_literal_text() -> None:
    pattern = "arn:aws:s3:::bucket/${aws:username}/*"
    context = {"aws:username": "*"}
    assert resource_matches(pattern, "arn:aws:s3:::bucket/*/k", context=context) is True
    assert resource_matches(pattern, "arn:aws:s3:::bucket/bob/k", context=context) is False


def test_variables_are_literal_under_version_2008() -> None:
    # "policy variables ... Version element must be set to 2012-10-17"
    resource = "arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/x"
    assert resource_matches(HOME, resource, context={"aws:username": "bob"},
                            version=VERSION_2008) is True
    assert resource_matches(HOME, "arn:aws:s3:::amzn-s3-demo-bucket/home/bob/x",
                            context={"aws:username": "bob"}, version=VERSION_2008) is False


def test_multivalued_context_key_does_not_resolve_a_variable() -> None:
    assert resource_matches(HOME, "arn:aws:s3:::amzn-s3-demo-bucket/home/a/x",
                            context={"aws:username": ["a", "b"]}) is False


@pytest.mark.parametrize(("pattern", "other", "covers"), [
    ("*", "arn:aws:s3:::b/*", True),
    ("arn:aws:s3:::*", "arn:aws:s3:::b/a*", True),
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/?", True),
    ("arn:aws:s3:::b/?", "arn:aws:s3:::b/*", False),
    ("arn:aws:s3:::b/?", "arn:aws:s3:::b/x", True),
    ("arn:aws:s3:::b/a*", "arn:aws:s3:::b/*", False),
    ("arn:aws:s3:::*", "*", False),
    ("arn:aws:s3:::b/${aws:username}", "arn:aws:s3:::b/bob", False),
])
def test_pattern_covers_another_pattern(pattern: str, other: str, covers: bool) -> None:
    assert pattern_covers(pattern, other) is covers


@pytest.mark.parametrize(("first", "second", "expected"), [
    ("arn:aws:s3:::pics/*", "arn:aws:s3:::*.png", True),
    ("arn:aws:s3:::pics/*", "arn:aws:s3:::other/*", False),
    ("arn:aws:s3:::pics/a?", "arn:aws:s3:::pics/*b", True),
    ("arn:aws:s3:::pics/a?", "arn:aws:s3:::pics/abc", False),
    ("*", "arn:aws:s3:::pics", True),
    ("arn:aws:s3:::pics/${aws:username}/*", "arn:aws:s3:::other/*", True),  # unknown
])
def test_two_resource_patterns_intersect_when_some_resource_matches_both(
        first: str, second: str, expected: bool) -> None:
    assert patterns_intersect(first, second) is expected
    assert patterns_intersect(second, first) is expected


@pytest.mark.parametrize(("pattern", "residuals"), [
    ("*", ("", "*")),
    ("arn:aws:s3:::*", ("", "*")),
    ("arn:aws:s3:::b/aws/lambda/*", ("aws/lambda/*",)),
    # a "*" may end before the prefix does, or run past it
    ("arn:aws:s3:::*/aws/lambda/*", ("*/aws/lambda/*", "/aws/lambda/*", "aws/lambda/*")),
    ("arn:aws:s3:::b?x/*", ("x/*",)),  # "?" took the "/"
    ("arn:aws:s3:::b/a${*}b", ("a${*}b",)),  # a literal "*" stays one
    ("arn:aws:s3:::c/*", ()),
    ("arn:aws:s3:::b", ()),
    ("arn:aws:s3:::b/${aws:username}/*", None),
    (unresolved("Ref Bucket"), None),
])
def test_what_a_pattern_leaves_to_match_after_a_literal_prefix(
        pattern: str, residuals: tuple[str, ...] | None) -> None:
    assert residuals_after(pattern, "arn:aws:s3:::b/") == residuals


@pytest.mark.parametrize(("resources", "not_resources", "resource", "expected"), [
    (("arn:aws:s3:::pics/*",), False, "arn:aws:s3:::pics/a.png", True),
    (("arn:aws:s3:::pics/*",), False, "arn:aws:s3:::other/a.png", False),
    (("arn:aws:s3:::pics/*",), True, "arn:aws:s3:::pics/a.png", False),
    (("arn:aws:s3:::pics/*",), True, "arn:aws:s3:::other/a.png", True),
    # a policy variable the context does not give: undecided, NotResource or not
    (("arn:aws:s3:::pics/${aws:username}/*",), False, "arn:aws:s3:::pics/bob/a", None),
    (("arn:aws:s3:::pics/${aws:username}/*",), True, "arn:aws:s3:::pics/bob/a", None),
])
def test_a_statement_matches_a_resource_through_resource_or_not_resource(
        resources: tuple[str, ...], not_resources: bool, resource: str,
        expected: bool | None) -> None:
    statement = Statement(effect="Allow", actions=("s3:GetObject",), resources=resources,
                          not_resources=not_resources)
    assert statement_matches(statement, resource) is expected


def test_widest_reads_each_policy_variable_as_any_value_and_keeps_escapes() -> None:
    pattern = "arn:aws:s3:::b/${aws:PrincipalTag/team}/${ aws:username , 'x' }/${*}${$}"
    assert widest(pattern) == "arn:aws:s3:::b/*/*/${*}${$}"
    assert resource_matches(widest(pattern), "arn:aws:s3:::b/red/alice/*$") is True
    assert resource_matches(widest(pattern), "arn:aws:s3:::b/red/alice/x$") is False


def test_a_secret_named_without_its_suffix_is_the_one_a_full_arn_names() -> None:
    from leastpriv_ci.policy.match import ResourcePattern, ResourceSet

    full = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db/main-AbC123"
    named = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db/main-??????"
    for matcher in (ResourcePattern(full), ResourceSet([full])):
        assert matcher.match(named) is True
        # another name, region or account, or a full ARN requested: as written
        assert matcher.match(named.replace("db/main", "db/mains")) is False
        assert matcher.match(named.replace("us-east-1", "eu-west-1")) is False
        assert matcher.match(full.replace("AbC123", "XyZ789")) is False
    # only a secret's ARN: six "?" elsewhere are literal
    other = "arn:aws:ssm:us-east-1:123456789012:parameter/p-AbC123"
    assert ResourceSet([other]).match(other.replace("AbC123", "??????")) is False



@pytest.mark.parametrize(("pattern", "resource"), [
    (HOME, "arn:aws:s3:::other-bucket/home/bob/x"),
    (HOME, "arn:aws:s3:::amzn-s3-demo-bucket/shared/x"),
    ("arn:aws:dynamodb:us-east-1:1:table/${aws:PrincipalTag/team}-*",
     "arn:aws:dynamodb:us-east-1:1:table/notes"),
    ("arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'all'}/*", "arn:aws:s3:::bucket"),
])
def test_a_variable_of_unknown_value_does_not_make_any_resource_unknown(
        pattern: str, resource: str) -> None:
    # Whatever value the variable takes, the pattern cannot match: not matching is certain
    # ("the policy variable is replaced by a value from the request context")
    assert resource_matches(pattern, resource) is False
    assert resource_matches(pattern, resource, context={"aws:userid": "AIDA"}) is False
    statement = Statement(effect="Allow", actions=("s3:GetObject",), resources=(pattern,))
    assert statement_matches(statement, resource) is False
    assert statement_matches(replace(statement, not_resources=True), resource) is True


def test_a_variable_of_unknown_value_may_hold_any_text() -> None:
    # the value is any text, ":" and "/" included, even in the ARN's first segments
    pattern = "arn:aws:sqs:${aws:RequestedRegion}:1:queue-${aws:PrincipalTag/team}"
    assert resource_matches(pattern, "arn:aws:sqs:us-east-1:1:queue-a:b/c") is None
    assert resource_matches(pattern, "arn:aws:sqs:us-east-1:1:other") is False
