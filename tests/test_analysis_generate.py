"""Proposals from usage alone: per role when known, else per principal, platform kept."""

from __future__ import annotations

from dataclasses import replace

from leastpriv_ci.analysis.generate import documents, generate
from leastpriv_ci.analysis.platform import PlatformOptions
from leastpriv_ci.analysis.proposal import propose_policies
from tests.analysis_support import ACCOUNT, function_arn, observation, table_arn, use

ROLE = f"arn:aws:iam::{ACCOUNT}:role/notes"
NOTES = table_arn("notes")


def test_per_principal_without_role_and_platform_groups_that_are_on() -> None:
    usage = observation([use("notes-get", "dynamodb:GetItem", NOTES)])
    proposals = documents(generate(usage))
    assert list(proposals) == [function_arn("notes-get")]
    assert proposals[function_arn("notes-get")]["Statement"] == [
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": NOTES},
        {"Effect": "Allow", "Action": "logs:CreateLogGroup",
         "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:*"},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/notes-get:*"},
        {"Effect": "Allow", "Action": [
            "xray:GetSamplingRules", "xray:GetSamplingStatisticSummaries",
            "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"],
         "Resource": "*"},  # no VPC interfaces: usage alone cannot tell they are needed
    ]


def test_per_role_when_the_usage_names_it() -> None:
    usage = observation([use("notes-get", "dynamodb:GetItem", NOTES),
                         use("notes-put", "dynamodb:PutItem", NOTES)])
    usage = replace(usage, principals={
        p: replace(u, role=ROLE) for p, u in usage.principals.items()})
    off = PlatformOptions(enabled=False)
    proposals = documents(generate(usage, platform=off))
    assert proposals == {ROLE: {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
         "Resource": NOTES}]}}


def test_without_platform_the_proposal_is_exactly_the_usage() -> None:
    accesses = [use("f", "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q")]
    generated = generate(observation(accesses), platform=PlatformOptions(enabled=False))
    assert generated[function_arn("f")].documents == propose_policies(accesses).documents


def test_split_proposals_get_part_keys() -> None:
    accesses = [use("f", "dynamodb:GetItem", table_arn(f"t{n:04d}-{'x' * 40}"))
                for n in range(300)]
    proposals = documents(generate(observation(accesses),
                                   platform=PlatformOptions(enabled=False)))
    assert function_arn("f") in proposals
    assert f"{function_arn('f')} (part 2)" in proposals


def test_a_denied_call_is_granted_and_what_refused_it_is_said() -> None:
    """A call denied at runtime is a need; when its error named a policy outside the role
    (an SCP), the proposal's note says that policy must let it through too."""
    plain = use("notes-get", "dynamodb:GetItem", NOTES, denied=True)
    refused = replace(use("notes-get", "dynamodb:PutItem", NOTES, denied=True),
                      refused_by=("explicit deny in a service control policy",))
    [proposal] = generate(observation([plain, refused])).values()
    assert {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
            "Resource": NOTES} in proposal.document["Statement"]  # type: ignore[operator]
    assert [n for n in proposal.notes if "denied at runtime" in n] == [
        "`dynamodb:GetItem` on `" + NOTES + "` was denied at runtime; included because the "
        "code calls it",
        "`dynamodb:PutItem` on `" + NOTES + "` was denied at runtime; included because the "
        "code calls it, but its error says explicit deny in a service control policy: that "
        "policy must let it through too"]
