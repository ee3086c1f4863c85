"""Role chaining: a role whose principals assumed another role is warned about, when its
missing or denied findings may be the assumed role's calls."""

from __future__ import annotations

from leastpriv_ci.analysis import analyse
from leastpriv_ci.analysis.chaining import ASSUMES_ROLES
from leastpriv_ci.policy.model import Policy, Role, Statement
from leastpriv_ci.records import Access, Origin
from tests.analysis_support import ACCOUNT, observation, table_arn, use

ASSUMED = f"arn:aws:iam::{ACCOUNT}:role/reports-role"
KEY = f"arn:aws:iam::{ACCOUNT}:role/app"


def _warned(*accesses: Access, grants: tuple[Statement, ...] = ()) -> list[str]:
    role = Role(key=KEY, name="app", policies=(Policy(name="own", statements=(
        Statement(effect="Allow", actions=("sts:AssumeRole", "dynamodb:GetItem"),
                  resources=("*",)),)),), resource_grants=grants)
    analysis = analyse(observation(accesses), {KEY: role}, {a.principal: KEY for a in accesses})
    return [example for n in analysis.notices.items() if n.code == ASSUMES_ROLES
            for example in n.examples]


def test_missing_and_denied_findings_after_an_assume_role_are_warned_of() -> None:
    assert _warned(use("fn", "sts:AssumeRole", ASSUMED),
                   use("fn", "dynamodb:PutItem", table_arn("reports")),
                   use("fn", "s3:GetObject", "arn:aws:s3:::reports/a", denied=True)) == [
        f"{KEY} assumed {ASSUMED} (2 findings)"]


def test_no_warning_without_a_role_assumed_or_without_a_doubtful_finding() -> None:
    put = use("fn", "dynamodb:PutItem", table_arn("reports"))
    assert _warned(put) == []  # nothing assumed
    assert _warned(use("fn", "sts:AssumeRole", ASSUMED, denied=True), put) == []  # refused
    # everything the function used is allowed
    assert _warned(use("fn", "sts:AssumeRole", ASSUMED),
                   use("fn", "dynamodb:GetItem", table_arn("reports"))) == []
    # a use a resource policy naming the role allows is its own
    granted = Statement(effect="Allow", actions=("dynamodb:PutItem",),
                        resources=(table_arn("reports"),),
                        origin=Origin(file="t.yaml", policy_name="table policy"))
    assert _warned(use("fn", "sts:AssumeRole", ASSUMED), put, grants=(granted,)) == []
