"""Condition operators, from the IAM User Guide's "IAM JSON policy elements: Condition
operators" and "Multivalued context keys" pages. Each test names the rule it checks."""

from __future__ import annotations

import pytest

from leastpriv_ci.policy.conditions import KNOWN_OPERATORS, evaluate_conditions
from leastpriv_ci.policy.match import lower_context
from leastpriv_ci.policy.model import VERSION_2008


def decide(block: dict[str, dict[str, object]], context: dict[str, object] | None,
           *, complete: bool = False) -> bool | None:
    normalised = {
        op: {k: tuple(v if isinstance(v, list) else [v]) for k, v in keys.items()}
        for op, keys in block.items()
    }
    return evaluate_conditions(normalised, lower_context(context),  # type: ignore[arg-type]
                               complete=complete)


CASES = [
    # String operators
    ({"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
     {"aws:PrincipalTag/job-category": "iamuser-admin"}, True, "StringEquals matches"),
    ({"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}},
     {"aws:PrincipalTag/job-category": "IAMUSER-ADMIN"}, False, "StringEquals is case-sensitive"),
    ({"StringEqualsIgnoreCase": {"aws:PrincipalTag/job": "Admin"}},
     {"aws:PrincipalTag/job": "ADMIN"}, True, "StringEqualsIgnoreCase"),
    ({"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
     {"aws:RequestedRegion": "ap-south-1"}, True, "StringNotEquals: matches none of the values"),
    ({"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
     {"aws:RequestedRegion": "eu-west-1"}, False, "StringNotEquals: one value equal fails"),
    ({"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]}},
     {"s3:prefix": "home/bob/docs", "aws:username": "bob"}, True,
     "StringLike with a policy variable and a wildcard"),
    ({"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}},
     {"s3:prefix": "home/alice/docs", "aws:username": "bob"}, False,
     "StringLike: another user's prefix"),
    ({"StringLike": {"aws:userid": "AIDA?*"}}, {"aws:userid": "AIDAXYZ"}, True,
     "StringLike ? and *"),
    ({"StringNotLike": {"aws:userid": "AIDA*"}}, {"aws:userid": "AROA1"}, True, "StringNotLike"),
    ({"StringEquals": {"s3:x-amz-acl": "a*"}}, {"s3:x-amz-acl": "abc"}, False,
     "StringEquals treats * literally"),
    # Numeric
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": 10}, True,
     "NumericLessThanEquals at the bound"),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "11"}, False,
     "NumericLessThanEquals above"),
    ({"NumericGreaterThan": {"n": "1.5"}}, {"n": 2}, True, "NumericGreaterThan with floats"),
    ({"NumericEquals": {"n": "1"}}, {"n": "one"}, False, "non-numeric context value is no match"),
    ({"NumericNotEquals": {"n": ["1", "2"]}}, {"n": 3}, True, "NumericNotEquals"),
    # Date
    ({"DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"}},
     {"aws:CurrentTime": "2020-06-30T00:00:00Z"}, True, "DateGreaterThan ISO 8601"),
    ({"DateLessThan": {"aws:CurrentTime": "2020-06-30T00:00:00Z"}},
     {"aws:CurrentTime": "2020-07-01T00:00:00Z"}, False, "DateLessThan after the date"),
    ({"DateLessThan": {"aws:EpochTime": "1600000000"}}, {"aws:EpochTime": "1500000000"}, True,
     "dates as epoch seconds"),
    # epoch seconds past any date (a hostile policy's, or infinity) are malformed dates
    ({"DateGreaterThan": {"aws:CurrentTime": "99999999999999999"}},
     {"aws:CurrentTime": "2020-06-30T00:00:00Z"}, False, "an epoch past any date"),
    ({"DateLessThan": {"aws:CurrentTime": "2020-06-30T00:00:00Z"}},
     {"aws:CurrentTime": "-1e400"}, False, "a context date of minus infinity"),
    ({"DateNotEquals": {"aws:CurrentTime": "nan"}},
     {"aws:CurrentTime": "2020-06-30T00:00:00Z"}, True, "NaN is no date: not equal to one"),
    # Bool
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": False}, True,
     "Bool false"),
    ({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {"aws:MultiFactorAuthPresent": "TRUE"},
     True, "Bool is case-insensitive"),
    # IP address
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.7"}, True,
     "IpAddress in CIDR"),
    ({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}},
     {"aws:SourceIp": "2001:db8:1234:5678::1"}, True, "IpAddress IPv6"),
    ({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.1"},
     True, "NotIpAddress outside"),
    ({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.1"},
     False, "NotIpAddress inside"),
    # ARN
    ({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
     {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:topic"}, True, "ArnLike"),
    ({"ArnEquals": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
     {"aws:SourceArn": "arn:aws:sns:us-east-1:999999999999:topic"}, False,
     "ArnEquals checks each segment"),
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
     {"aws:SourceArn": "arn:aws:sns:us-east-1:999999999999:topic"}, True, "ArnNotLike"),
    # Null (an absent key: COMPLETE_CASES)
    ({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2020"}, False,
     "Null true: key present"),
    ({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "2020"}, True,
     "Null false: key present"),
    # ...IfExists (an absent key: COMPLETE_CASES)
    ({"StringEqualsIfExists": {"ec2:InstanceType": ["t2.micro"]}},
     {"ec2:InstanceType": "m5.large"}, False, "IfExists: a present key is tested"),
    # Set operators on multivalued keys
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}},
     {"aws:TagKeys": ["env"]}, True, "ForAllValues: every value is allowed"),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}},
     {"aws:TagKeys": ["env", "cost"]}, False, "ForAllValues: one value outside"),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["env"]}}, {"aws:TagKeys": []}, True,
     "ForAllValues: an empty key is true"),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}, {"aws:TagKeys": ["cost", "env"]},
     True, "ForAnyValue: one value matches"),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}, {"aws:TagKeys": ["cost"]},
     False, "ForAnyValue: none match"),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}, {"aws:TagKeys": []}, False,
     "ForAnyValue: an empty key is false"),
    ({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}},
     {"aws:TagKeys": ["env", "team"]}, True, "ForAllValues with a negated operator"),
    # Combination: operators and keys ANDed, values ORed
    ({"StringEquals": {"a": "1", "b": "2"}}, {"a": "1", "b": "3"}, False, "keys are ANDed"),
    ({"StringEquals": {"a": ["1", "2"]}}, {"a": "2"}, True, "values are ORed"),
    ({"StringEquals": {"a": "1"}, "Bool": {"b": "true"}}, {"a": "1", "b": "false"}, False,
     "operators are ANDed"),
    ({"stringequals": {"A": "1"}}, {"a": "1"}, True, "condition keys are case-insensitive"),
]


@pytest.mark.parametrize(("block", "context", "expected", "rule"), CASES,
                         ids=[c[3] for c in CASES])
def test_condition_operator_rules(block: dict[str, dict[str, object]], context: dict[str, object],
                                  expected: bool, rule: str) -> None:
    assert decide(block, context) is expected, rule


@pytest.mark.parametrize("block", [
    {"StringEquals": {"aws:PrincipalTag/team": "red"}},
    {"StringNotEquals": {"aws:PrincipalTag/team": "red"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"ForAnyValue:StringEquals": {"aws:TagKeys": "env"}},
    # even the forms IAM decides for an absent key: the key may be in the request
    {"Null": {"aws:MultiFactorAuthAge": "true"}},
    {"Null": {"aws:MultiFactorAuthAge": "false"}},
    {"StringEqualsIfExists": {"aws:RequestedRegion": "us-east-1"}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": "env"}},
])
def test_a_key_absent_from_the_context_is_unknown(block: dict[str, dict[str, object]]) -> None:
    # The tool's context is partial (a trace does not carry every key), so absence does
    # not prove the key is absent from the real request.
    assert decide(block, {"other": "x"}) is None


def test_a_false_condition_beats_an_unknown_one() -> None:
    block = {"StringEquals": {"present": "no", "absent": "x"}}
    assert decide(block, {"present": "yes"}) is False


def test_without_any_context_every_condition_is_unknown() -> None:
    assert decide({"Null": {"k": "true"}}, None) is None
    assert decide({"StringEqualsIfExists": {"k": "v"}}, None) is None


def test_no_condition_holds_even_without_context() -> None:
    assert evaluate_conditions({}, None) is True


def test_unknown_operator_is_unknown() -> None:
    assert decide({"StringSoundsLike": {"k": "v"}}, {"k": "v"}) is None
    assert "stringlike" in KNOWN_OPERATORS


def test_variables_in_condition_values_are_literal_under_2008() -> None:
    block = {"StringEquals": {"s3:prefix": ("${aws:username}",)}}
    context = lower_context({"s3:prefix": "bob", "aws:username": "bob"})
    assert evaluate_conditions(block, context) is True
    assert evaluate_conditions(block, context, version=VERSION_2008) is False


def test_condition_value_with_unresolvable_variable_matches_nothing() -> None:
    block: dict[str, dict[str, object]] = {"StringEquals": {"s3:prefix": "${aws:username}"}}
    assert decide(block, {"s3:prefix": "bob"}, complete=True) is False
    # in a partial context the variable's key may be in the request: unknown
    assert decide(block, {"s3:prefix": "bob"}) is None


COMPLETE_CASES = [
    # "If the key that you specify in a policy condition is not present in the request
    # context, the values do not match and the condition is false. If the policy condition
    # requires that the key is not matched, such as StringNotLike or ArnNotLike, and the
    # right key is not present, the condition is true."
    ({"StringEquals": {"aws:PrincipalTag/team": "red"}}, False, "positive operator: false"),
    ({"StringNotEquals": {"aws:PrincipalTag/team": "red"}}, True, "negated operator: true"),
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}, True, "ArnNotLike: true"),
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, True, "NotIpAddress: true"),
    ({"ForAnyValue:StringNotEquals": {"aws:TagKeys": "x"}}, False, "ForAnyValue: false"),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": "x"}}, True, "ForAllValues: true"),
    ({"StringEqualsIfExists": {"aws:PrincipalTag/team": "red"}}, True, "IfExists: true"),
    ({"Null": {"aws:TokenIssueTime": "true"}}, True, "Null true: true"),
    ({"Null": {"aws:TokenIssueTime": "false"}}, False, "Null false: false"),
]


@pytest.mark.parametrize(("block", "expected", "rule"), COMPLETE_CASES,
                         ids=[c[2] for c in COMPLETE_CASES])
def test_absent_key_in_a_complete_context_follows_iam(
    block: dict[str, dict[str, object]], expected: bool, rule: str,
) -> None:
    normalised = {op: {k: (v,) for k, v in keys.items()} for op, keys in block.items()}
    context = lower_context({"aws:username": "bob"})
    assert evaluate_conditions(normalised, context, complete=True) is expected, rule  # type: ignore[arg-type]
    assert evaluate_conditions(normalised, None, complete=True) is expected, rule  # type: ignore[arg-type]
