"""The least-privilege proposal: grouping, S3 prefixes, `*`, escaping and IAM's size limits."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from leastpriv_ci.analysis import role_proposal
from leastpriv_ci.analysis.proposal import (
    INLINE_LIMIT,
    MANAGED_LIMIT,
    Grant,
    condition_text,
    literal,
    part_within,
    policy_size,
    propose,
    propose_policies,
)
from leastpriv_ci.policy.evaluate import evaluate
from leastpriv_ci.policy.files import load_policy_file
from leastpriv_ci.policy.model import Policy, Role, Statement, unresolved
from leastpriv_ci.policy.parse import parse_policy
from leastpriv_ci.records import Access
from tests.analysis_support import ACCOUNT, function_arn, table_arn, use

FN = function_arn("notes")
NOTES = table_arn("notes")
BUCKET = "arn:aws:s3:::attachments"


def access(action: str, resource: str, **kw: object) -> Access:
    return Access(FN, action, resource, **kw)  # type: ignore[arg-type]


def allows(doc: dict[str, object], action: str, resource: str) -> bool:
    policy = parse_policy(doc, name="proposal")
    return evaluate(policy.statements, action, resource).allowed


def test_resources_with_identical_action_sets_share_one_sorted_statement() -> None:
    accesses = [
        access("dynamodb:PutItem", table_arn("b")),
        access("dynamodb:GetItem", table_arn("b")),
        access("dynamodb:GetItem", table_arn("a")),
        access("dynamodb:PutItem", table_arn("a")),
        access("dynamodb:Query", table_arn("a") + "/index/byDate"),
    ]
    expected = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
         "Resource": [table_arn("a"), table_arn("b")]},
        {"Effect": "Allow", "Action": "dynamodb:Query",
         "Resource": table_arn("a") + "/index/byDate"},
    ]}
    assert propose(accesses) == expected
    assert propose(reversed(accesses)) == expected


def test_actions_are_spelled_as_the_catalog_spells_them() -> None:
    doc = propose([access("DYNAMODB:getitem", NOTES)])
    assert doc["Statement"] == [{"Effect": "Allow", "Action": "dynamodb:GetItem",
                                 "Resource": NOTES}]


def test_star_only_for_actions_without_resource_level_permissions() -> None:
    doc = propose([
        access("xray:PutTraceSegments", "*"),
        access("s3:ListAllMyBuckets", "arn:aws:s3:::whatever"),  # takes no resource
        access("dynamodb:GetItem", NOTES),
    ])
    assert doc["Statement"] == [
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": NOTES},
        {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "xray:PutTraceSegments"],
         "Resource": "*"},
    ]


def test_s3_keys_generalise_to_their_shared_top_level_folder() -> None:
    doc = propose([
        access("s3:PutObject", BUCKET + "/notes/1/a.png"),
        access("s3:PutObject", BUCKET + "/notes/2/b.png"),
        access("s3:PutObject", BUCKET + "/notes/2/c.png"),  # notes/2/ is a user's folder
        access("s3:GetObject", BUCKET + "/notes/abc"),
        access("s3:GetObject", BUCKET + "/notes/abd"),
        access("s3:DeleteObject", BUCKET + "/x/1"),
        access("s3:DeleteObject", BUCKET + "/y/1"),
        access("s3:GetObjectTagging", BUCKET + "/only/one.txt"),
        access("s3:ListBucket", BUCKET),
    ])
    assert doc["Statement"] == [
        {"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": BUCKET + "/*"},  # a/ and
        # y/ share nothing but the bucket, and the proposal is never wider than the bucket
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": BUCKET + "/notes/*"},  # notes/abc + notes/abd: cut at `/`, not notes/ab*
        {"Effect": "Allow", "Action": "s3:GetObjectTagging", "Resource": BUCKET + "/only/*"},
        # a single key is data written at run time: never granted exactly
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET},
    ]


def test_literal_wildcards_in_observed_arns_are_escaped() -> None:
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs*2024?"
    doc = propose([access("s3:GetObject", BUCKET + "/report*2024?/x.csv"),
                   access("sqs:SendMessage", queue)])
    assert [s["Resource"] for s in doc["Statement"]] == [
        BUCKET + "/report${*}2024${?}/*", f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs${{*}}2024${{?}}"]
    assert allows(doc, "s3:GetObject", BUCKET + "/report*2024?/x.csv")
    assert not allows(doc, "s3:GetObject", BUCKET + "/report-anything-2024x/x.csv")
    assert allows(doc, "sqs:SendMessage", queue)
    assert not allows(doc, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs-2024x")


def test_denied_accesses_are_a_need_and_are_included() -> None:
    doc = propose([access("sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:t", denied=True)])
    assert allows(doc, "sns:Publish", f"arn:aws:sns:us-east-1:{ACCOUNT}:t")


def test_unknown_resource_is_scoped_to_the_principals_account_and_region() -> None:
    proposal = propose_policies([access("sqs:SendMessage", "*", resource_known=False)])
    assert proposal.document["Statement"] == [
        {"Effect": "Allow", "Action": "sqs:SendMessage",
         "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:*"}
    ]
    assert proposal.unknown_resources == ("sqs:SendMessage",)
    assert any("did not name the resource" in note for note in proposal.notes)


def test_an_unknown_bucket_is_kept_to_the_principals_account_by_condition() -> None:
    # A bucket ARN names no account (arn:aws:s3:::*): aws:ResourceAccount keeps the grant
    # to the principal's account, where a format naming the account needs no condition.
    from leastpriv_ci.policy.evaluate import evaluate

    proposal = propose_policies([access("s3:ListBucket", "*", resource_known=False),
                                 access("sqs:SendMessage", "*", resource_known=False),
                                 access("route53:ListResourceRecordSets", "*",
                                        resource_known=False)])
    statements = proposal.document["Statement"]
    # S3 alone: a service that sets no aws:ResourceAccount would fail the condition
    [zone] = [s for s in statements if s["Action"] == "route53:ListResourceRecordSets"]
    assert zone["Resource"] == "arn:aws:route53:::hostedzone/*" and "Condition" not in zone
    [bucket] = [s for s in statements if s["Resource"] == "arn:aws:s3:::*"]
    assert bucket["Condition"] == {"StringEquals": {"aws:ResourceAccount": ACCOUNT}}
    [queue] = [s for s in statements if s["Action"] == "sqs:SendMessage"]
    assert "Condition" not in queue
    policy = parse_policy(proposal.document, name="proposal").statements
    for account, allowed in ((ACCOUNT, True), ("999999999999", False)):
        decided = evaluate(policy, "s3:ListBucket", "arn:aws:s3:::any-bucket",
                           context={"aws:ResourceAccount": account}, complete_context=True)
        assert decided.allowed is allowed, account


def test_a_secret_named_without_its_suffix_is_granted_by_name_or_on_its_declared_arn() -> None:
    # The trace holds "secret:NAME-??????": those six "?" stand for the random suffix,
    # so they stay wildcards (written "${?}" no secret would match); a declared full ARN
    # of the same secret is the narrower grant, and is kept.
    named = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/d$b-??????"
    doc = propose([access("secretsmanager:GetSecretValue", named)])
    [statement] = doc["Statement"]  # type: ignore[misc]
    assert statement["Resource"] == named.replace("$", "${$}")
    assert allows(doc, "secretsmanager:GetSecretValue", named.replace("??????", "AbC123"))
    assert not allows(doc, "secretsmanager:GetSecretValue",
                      named.replace("d$b-??????", "d$bx-AbC123"))
    full = named.replace("??????", "AbC123")
    proposal = propose_policies([access("secretsmanager:GetSecretValue", named)],
                                declared=lambda action: (full, "*"))
    assert proposal.document["Statement"][0]["Resource"] == full


def test_star_as_iam_authorized_it_is_granted_as_star() -> None:
    # PutMetricData without a dataset (its one optional resource type) is authorized on
    # "*": an ARN-format pattern (dataset/*) would refuse the call. IAM's own message
    # naming "*" for another action means the same.
    proposal = propose_policies([access("cloudwatch:PutMetricData", "*"),
                                 access("kms:Decrypt", "*")])
    assert proposal.document["Statement"] == [{
        "Effect": "Allow", "Action": ["cloudwatch:PutMetricData", "kms:Decrypt"],
        "Resource": "*"}]
    assert proposal.unknown_resources == ()
    # the same "*" recorded as not known is still bounded by the ARN formats
    unknown = propose_policies([access("cloudwatch:PutMetricData", "*", resource_known=False)])
    assert unknown.document["Statement"][0]["Resource"] != "*"


def test_unknown_resource_uses_the_bound_the_caller_gives() -> None:
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    proposal = propose_policies([access("sqs:SendMessage", "*", resource_known=False)],
                                unknown_bound=lambda action, a: (Grant(action, queue),))
    assert proposal.document["Statement"][0]["Resource"] == queue


def many_tables(count: int) -> list[Access]:
    """Each table used with a different action set, so nothing groups by itself."""
    actions = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:DeleteItem")
    out = []
    for number in range(count):
        name = table_arn(f"table-{number:04d}-with-a-long-descriptive-name")
        chosen = [a for bit, a in enumerate(actions) if (number + 1) >> bit & 1]
        out.extend(access(a, name) for a in chosen)
    return out


def test_fitting_merges_action_sets_per_service_over_used_resources_only() -> None:
    accesses = many_tables(60)
    plain = propose_policies(accesses, limit=10**9)
    assert policy_size(plain.document) > MANAGED_LIMIT
    fitted = propose_policies(accesses, limit=MANAGED_LIMIT)
    assert len(fitted.documents) == 1
    assert policy_size(fitted.document) <= MANAGED_LIMIT
    assert any("merged" in note for note in fitted.notes)
    for a in accesses:
        assert allows(fitted.document, a.action, a.resource)
    assert not allows(fitted.document, "dynamodb:GetItem", table_arn("never-used"))


def test_fitting_never_merges_other_actions_onto_an_unknown_resources_pattern() -> None:
    # The ListBucket whose bucket no trace named is granted on the ARN-format pattern
    # (arn:aws:s3:::*); merging S3's action sets must not grant the object actions there.
    names = ["GetObject", "PutObject", "DeleteObject", "GetObjectTagging", "PutObjectTagging",
             "GetObjectAcl", "PutObjectAcl", "AbortMultipartUpload"]
    # 100 buckets: merged, the policy fits in one document (unmerged it would not)
    accesses = [access(f"s3:{name}", f"arn:aws:s3:::bucket-{n:03d}-with-a-long-name/data/k")
                for n in range(100) for name in names[:1 + n % 8]]
    accesses.append(access("s3:ListBucket", "*", resource_known=False))
    proposal = propose_policies(accesses, limit=MANAGED_LIMIT)
    assert any("merged" in note for note in proposal.notes)
    assert len(proposal.documents) == 1
    for doc in proposal.documents:
        for statement in doc["Statement"]:  # type: ignore[attr-defined]
            resources = statement["Resource"]
            if "arn:aws:s3:::*" in (resources if isinstance(resources, list) else [resources]):
                assert statement["Action"] == "s3:ListBucket"
    assert not any(allows(doc, "s3:PutObject", "arn:aws:s3:::someone-elses/x")
                   for doc in proposal.documents)


def test_fitting_splits_when_merging_is_not_enough_and_says_so() -> None:
    accesses = [access("dynamodb:GetItem", table_arn(f"t{n:04d}-{'x' * 40}"))
                for n in range(300)]
    proposal = propose_policies(accesses, limit=MANAGED_LIMIT)
    assert len(proposal.documents) > 1
    assert all(policy_size(doc) <= MANAGED_LIMIT for doc in proposal.documents)
    assert any("policies of at most 6144" in note for note in proposal.notes)
    granted = {r for doc in proposal.documents for s in doc["Statement"]
               for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    assert granted == {a.resource for a in accesses}


def test_no_merging_when_the_policy_is_split_anyway() -> None:
    # PutItem was used on the even tables only: merging the service's actions over its
    # tables would grant it on the odd ones too, and 3 documents are needed either way
    accesses = [access(a, table_arn(f"table-number-{n:03d}-{'x' * 30}")) for n in range(120)
                for a in ("dynamodb:GetItem", "dynamodb:PutItem")[:1 + (n % 2 == 0)]]
    proposal = propose_policies(accesses, limit=MANAGED_LIMIT)
    assert len(proposal.documents) > 1
    assert not any("merged" in note for note in proposal.notes)
    odd = table_arn(f"table-number-001-{'x' * 30}")
    assert not any(allows(doc, "dynamodb:PutItem", odd) for doc in proposal.documents)
    for a in accesses:
        assert any(allows(doc, a.action, a.resource) for doc in proposal.documents)


def test_no_service_wildcard_when_the_policy_is_split_anyway() -> None:
    # `dynamodb:*` would not make 300 tables fit: splitting the used actions grants less.
    accesses = [access(a, table_arn(f"t{n:04d}-{'x' * 40}")) for n in range(300)
                for a in ("dynamodb:GetItem", "dynamodb:PutItem")]
    proposal = propose_policies(accesses, limit=MANAGED_LIMIT)
    assert len(proposal.documents) > 1
    assert all(policy_size(doc) <= MANAGED_LIMIT for doc in proposal.documents)
    actions = {a for doc in proposal.documents for s in doc["Statement"]
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {"dynamodb:GetItem", "dynamodb:PutItem"}
    assert not any("dynamodb:*" in note for note in proposal.notes)
    for a in accesses[:4]:
        assert any(allows(doc, a.action, a.resource) for doc in proposal.documents)


def test_service_wildcard_only_over_one_shared_resource_set() -> None:
    actions = [info.full_name for info in
               __import__("leastpriv_ci.catalog", fromlist=["get_catalog"]).get_catalog()
               .expand("dynamodb:*") if info.resource_types][:60]
    accesses = [access(a, NOTES) for a in actions]
    proposal = propose_policies(accesses, limit=400)
    assert proposal.document["Statement"] == [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": NOTES}
    ]
    assert any("`dynamodb:*`" in note for note in proposal.notes)


def test_inline_limit_is_larger_than_managed() -> None:
    accesses = many_tables(60)
    assert INLINE_LIMIT > MANAGED_LIMIT
    inline = propose_policies(accesses, limit=INLINE_LIMIT)
    assert policy_size(inline.document) <= INLINE_LIMIT
    assert not any("inline" in note for note in inline.notes)


def test_inline_parts_are_said_not_to_fit_a_role_together() -> None:
    # IAM limits the sum of a role's inline policies: split parts cannot all be inline
    inline = propose_policies(many_tables(400), limit=INLINE_LIMIT)
    assert len(inline.documents) > 1
    assert any(f"{INLINE_LIMIT} characters in all" in note and "managed policies" in note
               for note in inline.notes)
    managed = propose_policies(many_tables(400), limit=MANAGED_LIMIT)
    assert len(managed.documents) > 1 and not any("inline" in n for n in managed.notes)


def test_unknown_resource_bounded_by_the_usage_stage_keeps_that_bound() -> None:
    proposal = propose_policies([access("s3:GetObject", BUCKET + "/*", resource_known=False)])
    assert proposal.document["Statement"] == [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": BUCKET + "/*"}
    ]
    assert proposal.unknown_resources == ("s3:GetObject",)


def test_an_object_call_of_unknown_key_keeps_the_role_s_part_of_its_bucket(
        tmp_path: Path) -> None:
    """The trace named the bucket, not the key: the call is bounded to `BUCKET/*`, and a
    role granting only `BUCKET/uploads/*` (the call succeeded, so it was there) must not
    be proposed the whole bucket; a broader grant narrows to it, a Condition stays."""
    unnamed = use("f", "s3:GetObject", BUCKET + "/*", known=False)

    def proposed(*statements: dict[str, object]) -> object:
        role = _role(tmp_path, [{"Effect": "Allow", "Action": "s3:GetObject", **s}
                                for s in statements])
        return role_proposal(role, [unnamed], ["f"], []).document["Statement"]

    get = {"Effect": "Allow", "Action": "s3:GetObject"}
    assert proposed({"Resource": BUCKET + "/uploads/*"}) == [
        {**get, "Resource": BUCKET + "/uploads/*"}]
    assert proposed({"Resource": BUCKET + "/uploads/*", "Condition": VPCE}) == [
        {**get, "Resource": BUCKET + "/uploads/*", "Condition": VPCE}]
    assert proposed({"Resource": "arn:aws:s3:::*"}) == [{**get, "Resource": BUCKET + "/*"}]
    # denied: a need, on the bound
    role = _role(tmp_path, [{**get, "Resource": BUCKET + "/uploads/*"}])
    assert role_proposal(role, [replace(unnamed, denied=True)], ["f"], []).document[
        "Statement"] == [{**get, "Resource": BUCKET + "/*"}]


def test_declared_s3_patterns_narrower_than_the_folder_are_kept() -> None:
    declared = (BUCKET + "/*.png", BUCKET + "/*.jpg", BUCKET + "/users/${aws:username}/*",
                "arn:aws:s3:::*")

    def proposed(*keys: str) -> object:
        doc = propose_policies([access("s3:GetObject", f"{BUCKET}/{k}") for k in keys],
                               declared=lambda action: declared).document
        return doc["Statement"][0]["Resource"]  # type: ignore[index]

    # each key under the narrowest declared pattern that covers it
    assert proposed("a.png", "b.jpg") == [BUCKET + "/*.jpg", BUCKET + "/*.png"]
    # a key no narrower declared pattern covers: the folder, as without declared patterns
    assert proposed("a.png", "c.txt") == BUCKET + "/*"
    # a variable cannot be compared offline: never pinned, never chosen from the declared
    # patterns (a role's proposal keeps one that alone granted a use)
    assert proposed("users/alice/1.txt") == BUCKET + "/users/*"


@pytest.mark.parametrize(("pattern", "part"), [
    ("*", (BUCKET + "/*",)),
    ("arn:aws:s3:::*", (BUCKET + "/*",)),
    ("arn:aws:s3:::attach*", (BUCKET + "/*",)),
    (BUCKET + "/failures/*", (BUCKET + "/failures/*",)),
    ("arn:aws:s3:::*/aws/lambda/*", (BUCKET + "/*/aws/lambda/*", BUCKET + "/aws/lambda/*")),
    ("arn:aws:s3:::other/*", ()),
    (BUCKET, ()),  # the bucket, not its objects
    (BUCKET + "/${aws:username}/*", None),
])
def test_the_part_of_a_pattern_within_a_bucket_s_objects(
        pattern: str, part: tuple[str, ...] | None) -> None:
    assert part_within(pattern, BUCKET + "/") == part


def test_keys_generalised_to_a_folder_keep_the_declared_pattern_s_part_of_it(
        tmp_path: Path) -> None:
    """A role granting only some keys of the folder the used keys share (`*.png`, or a
    `public/` folder in every user's) is proposed the part of its grant within that
    folder, not the folder: that widened the role."""
    role = _role(tmp_path, [
        {"Effect": "Allow", "Action": "s3:GetObject",
         "Resource": [BUCKET + "/*.png", BUCKET + "/*/public/*"]}])
    proposal = role_proposal(role, [
        use("f", "s3:GetObject", f"{BUCKET}/notes/alice/a.png"),
        use("f", "s3:GetObject", f"{BUCKET}/notes/bob/b.png")], ["f"], [])
    assert proposal.document["Statement"] == [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": BUCKET + "/notes/*.png"}]
    proposal = role_proposal(role, [
        use("f", "s3:GetObject", f"{BUCKET}/users/alice/public/a.txt"),
        use("f", "s3:GetObject", f"{BUCKET}/users/bob/public/b.txt")], ["f"], [])
    assert proposal.document["Statement"] == [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": BUCKET + "/users/*/public/*"}]
    # a key only a pattern broader than the folder grants: the folder, as before
    broad = _role(tmp_path, [{"Effect": "Allow", "Action": "s3:GetObject",
                              "Resource": [BUCKET + "/*.png", "arn:aws:s3:::*"]}])
    proposal = role_proposal(broad, [
        use("f", "s3:GetObject", f"{BUCKET}/notes/a.png"),
        use("f", "s3:GetObject", f"{BUCKET}/notes/b.txt")], ["f"], [])
    assert proposal.document["Statement"] == [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": BUCKET + "/notes/*"}]


def _role(tmp_path: Path, statements: list[dict[str, object]]) -> Role:
    path = tmp_path / "role.json"
    path.write_text(json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return Role(key="r", name="r", policies=load_policy_file(path).policies)


PUBLIC = {"StringEquals": {"s3:ExistingObjectTag/public": "yes"}}
VPCE = {"StringEquals": {"aws:SourceVpce": "vpce-1"}}


def test_a_use_granted_only_under_a_condition_is_proposed_under_it(tmp_path: Path) -> None:
    # Without the Condition, adopting the proposal would widen the role
    role = _role(tmp_path, [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pics/*",
         "Condition": PUBLIC},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::pics/*"}])
    accesses = [use("f", "s3:GetObject", "arn:aws:s3:::pics/a.png"),
                use("f", "s3:PutObject", "arn:aws:s3:::pics/b.png")]
    proposal = role_proposal(role, accesses, ["f"], [])
    assert proposal.document["Statement"] == [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pics/*",
         "Condition": PUBLIC},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::pics/*"}]
    statements = parse_policy(proposal.document, name="proposal").statements
    private = {"s3:ExistingObjectTag/public": "no"}
    assert not evaluate(statements, "s3:GetObject", "arn:aws:s3:::pics/a.png",
                        context=private, complete_context=True).allowed
    assert evaluate(statements, "s3:PutObject", "arn:aws:s3:::pics/b.png",
                    context=private, complete_context=True).allowed
    (kept,) = [n for n in proposal.notes if "Condition" in n]
    assert "`s3:GetObject`" in kept and "same blocks" in kept and "PutObject" not in kept


def test_each_condition_a_use_is_granted_under_gets_its_own_statement(tmp_path: Path) -> None:
    # Either statement allows: one statement per block keeps that "or"
    role = _role(tmp_path, [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pics/*",
         "Condition": PUBLIC},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": "arn:aws:s3:::pics/*", "Condition": VPCE}])
    accesses = [use("f", "s3:GetObject", "arn:aws:s3:::pics/a.png"),
                use("f", "s3:PutObject", "arn:aws:s3:::pics/b.png")]
    statements = role_proposal(role, accesses, ["f"], []).document["Statement"]
    assert statements == [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pics/*",
         "Condition": PUBLIC},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
         "Resource": "arn:aws:s3:::pics/*", "Condition": VPCE}]


def test_an_unconditional_grant_beside_a_conditional_one_needs_no_condition(
        tmp_path: Path) -> None:
    role = _role(tmp_path, [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pics/*",
         "Condition": PUBLIC},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pics/a.png"}])
    proposal = role_proposal(role, [use("f", "s3:GetObject", "arn:aws:s3:::pics/a.png")],
                             ["f"], [])
    # (the declared pattern narrower than the bucket's folder is kept, as without conditions)
    assert proposal.document["Statement"] == [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pics/a.png"}]
    assert not [n for n in proposal.notes if "ondition" in n]


def test_conditions_a_pattern_decides_are_not_carried_and_that_is_said(
        tmp_path: Path) -> None:
    # A resource pattern not known offline cannot be written as conditions of Allow
    # statements: the grant is unconditional, and the note says so. An undecided Deny
    # needs none: the proposal keeps it as written.
    role = _role(tmp_path, [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pics/*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}},
        {"Effect": "Allow", "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::pics/${aws:username}/*", "Condition": VPCE}])
    accesses = [use("f", "s3:GetObject", "arn:aws:s3:::pics/a.png"),
                use("f", "s3:PutObject", "arn:aws:s3:::pics/alice/b.png")]
    proposal = role_proposal(role, accesses, ["f"], [])
    statements = proposal.document["Statement"]
    assert all("Condition" not in s for s in statements if s["Effect"] == "Allow")
    assert statements[-1] == {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*",
                              "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}
    (note,) = [n for n in proposal.notes if "condition" in n]
    assert "`s3:PutObject`" in note and "does not repeat" in note
    assert "`s3:GetObject`" not in note  # the kept Deny decides it as before


TEAM = "arn:aws:s3:::pics/${aws:PrincipalTag/team}/*"


def test_an_object_use_granted_only_through_a_policy_variable_keeps_its_pattern(
        tmp_path: Path) -> None:
    # Staging's tag value (red) written into the proposal would grant every principal the
    # red folder, and none its own folder in production
    role = _role(tmp_path, [
        {"Sid": "Team", "Effect": "Allow", "Action": "s3:GetObject", "Resource": TEAM},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::pics/*"}])
    accesses = [use("f", "s3:GetObject", "arn:aws:s3:::pics/red/a.png"),
                use("f", "s3:PutObject", "arn:aws:s3:::pics/red/b.png")]
    proposal = role_proposal(role, accesses, ["f"], [])
    # in the declared order, the repeated pattern in its statement, with its Sid
    assert proposal.document["Statement"] == [
        {"Sid": "Team", "Effect": "Allow", "Action": "s3:GetObject", "Resource": TEAM},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::pics/red/*"}]
    assert not [n for n in proposal.notes if "does not repeat" in n]
    statements = parse_policy(proposal.document, name="proposal").statements
    for team, allowed in (("red", True), ("blue", False)):
        context = {"aws:PrincipalTag/team": team}
        assert evaluate(statements, "s3:GetObject", "arn:aws:s3:::pics/red/a.png",
                        context=context, complete_context=True).allowed is allowed


def test_a_policy_variable_is_not_kept_where_something_else_granted_the_use(
        tmp_path: Path) -> None:
    role = _role(tmp_path, [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": TEAM},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pics/*"},
        {"Effect": "Allow", "Action": "s3:PutObject",
         "Resource": [TEAM, unresolved("Ref OtherBucket") + "/*"]}])
    accesses = [use("f", "s3:GetObject", "arn:aws:s3:::pics/red/a.png"),
                # denied: the variable did not grant it, so it stays a need
                use("f", "s3:GetObject", "arn:aws:s3:::pics/blue/c.png", denied=True),
                use("f", "s3:PutObject", "arn:aws:s3:::pics/red/b.png")]
    proposal = role_proposal(role, accesses, ["f"], [])
    resources = {r for s in proposal.document["Statement"]
                 for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])}
    assert resources == {"arn:aws:s3:::pics/*", "arn:aws:s3:::pics/red/*"}
    # the unresolved pattern beside the variable may have granted PutObject: not repeated
    assert any("does not repeat" in n and "`s3:PutObject`" in n for n in proposal.notes)


def test_a_denied_use_is_a_need_even_where_a_policy_variable_may_grant_it(
        tmp_path: Path) -> None:
    # IAM refused it: at staging the variable did not take a value that grants it
    role = _role(tmp_path, [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": TEAM}])
    proposal = role_proposal(
        role, [use("f", "s3:GetObject", "arn:aws:s3:::pics/blue/c.png", denied=True)], ["f"], [])
    assert proposal.document["Statement"] == [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pics/blue/*"}]


def test_a_condition_with_a_value_the_template_did_not_resolve_is_not_carried() -> None:
    marker = unresolved("Ref VpcEndpoint")
    statement = Statement(
        effect="Allow", actions=("s3:GetObject",), resources=("arn:aws:s3:::pics/*",),
        conditions={"StringEquals": {"aws:SourceVpce": (marker,)}})
    role = Role(key="r", name="r", policies=(Policy("p", (statement,)),))
    proposal = role_proposal(role, [use("f", "s3:GetObject", "arn:aws:s3:::pics/a.png")],
                             ["f"], [])
    assert "Condition" not in proposal.document["Statement"][0]
    assert any("does not repeat" in n for n in proposal.notes)


def test_fitting_never_merges_a_conditional_statement() -> None:
    grants = [access("dynamodb:GetItem", table_arn(f"t{n}")) for n in range(40)]
    grants += [access("dynamodb:Query", table_arn(f"t{n}")) for n in range(20)]
    grants.append(access("dynamodb:PutItem", NOTES))
    condition = condition_text(VPCE)

    def conditions(found: Access) -> tuple[str, ...]:
        return (condition,) if found.action == "dynamodb:PutItem" else ()

    roomy = propose_policies(grants, conditions=conditions, limit=100_000)
    proposal = propose_policies(grants, conditions=conditions,
                                limit=policy_size(roomy.document) - 1)
    assert any("merged" in n for n in proposal.notes)  # dynamodb's statements were merged
    assert proposal.document["Statement"] == [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
         "Resource": [table_arn(f"t{n}") for n in sorted(range(40), key=str)]},
        {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": NOTES,
         "Condition": VPCE}]


def test_characters_iam_policies_cannot_hold_become_one_character_wildcards() -> None:
    # IAM's policy grammar takes U+0009, U+000A, U+000D and U+0020-U+00FF only: a key in
    # Japanese, a parameter in Cyrillic, a bidi control would make the document invalid
    parameter = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/app/ключ"
    doc = propose([access("ssm:GetParameter", parameter),
                   access("s3:GetObject", BUCKET + "/データ/a.txt"),
                   access("s3:PutObject", BUCKET + "/rtl\u202egnp.exe")])
    text = json.dumps(doc, ensure_ascii=False)
    assert all(ch in "\t\n\r" or 0x20 <= ord(ch) <= 0xFF for ch in text), text
    resources = {s["Resource"] for s in doc["Statement"]}  # type: ignore[attr-defined]
    assert f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/app/????" in resources
    assert BUCKET + "/???/*" in resources
    assert allows(doc, "ssm:GetParameter", parameter)
    assert allows(doc, "s3:GetObject", BUCKET + "/データ/a.txt")
    assert allows(doc, "s3:PutObject", BUCKET + "/rtl\u202egnp.exe")
    assert literal("arn:aws:s3:::café/menu") == "arn:aws:s3:::café/menu"  # Latin-1 stays


def test_the_roles_denies_are_kept_and_a_tls_guard_does_not_lift_the_allows_conditions(
        tmp_path: Path) -> None:
    # The usual "Deny everything without TLS" beside an Allow under aws:SourceVpce: the
    # Deny goes into the proposal as written, so the Allow's own condition is carried
    # (it used to be dropped, with a note to copy it by hand)
    tls = {"Sid": "TlsOnly", "Effect": "Deny", "Action": "*", "Resource": "*",
           "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    role = _role(tmp_path, [
        {"Sid": "Objects", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::pics/*", "Condition": VPCE}, tls])
    proposal = role_proposal(role, [use("f", "s3:GetObject", "arn:aws:s3:::pics/a.png")],
                             ["f"], [])
    assert proposal.document["Statement"] == [
        {"Sid": "Objects", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::pics/*", "Condition": VPCE}, tls]
    assert not any("does not repeat" in n for n in proposal.notes)
    assert any("keeps the role's 1 Deny statement(s)" in n for n in proposal.notes)


def test_a_deny_with_a_value_not_known_offline_is_named_not_written(tmp_path: Path) -> None:
    from leastpriv_ci.policy.model import Policy, Statement, unresolved
    from leastpriv_ci.records import Origin

    role = _role(tmp_path, [{"Effect": "Allow", "Action": "s3:GetObject",
                             "Resource": "arn:aws:s3:::pics/*"}])
    deny = Statement("Deny", ("s3:GetObject",), (unresolved("Ref Protected"),),
                     origin=Origin(file="template.yaml", line=12))
    role = replace(role, policies=(*role.policies, Policy("guard", (deny,))))
    proposal = role_proposal(role, [use("f", "s3:GetObject", "arn:aws:s3:::pics/a.png")],
                             ["f"], [])
    assert all(s["Effect"] == "Allow" for s in proposal.document["Statement"])
    assert any("template.yaml:12" in n and "keep them beside it" in n for n in proposal.notes)


def test_a_declared_2008_pattern_stays_literal_text_in_the_proposal() -> None:
    # "If you don't include the Version element ... the variables are treated as literal
    # strings" (IAM policy elements: Variables and tags); the proposal is 2012-10-17, where
    # the same ${...} would be a variable: it is written ${$}{...}
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q-${{aws:username}}"
    role = Role(key="r", name="r", policies=(parse_policy(
        {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue}]},
        name="old"),))
    document = role_proposal(role, [use("f", "sqs:SendMessage", "*", known=False)],
                             ["f"], []).document
    written = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q-${{$}}{{aws:username}}"
    assert document["Statement"] == [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": written}]
    assert allows(document, "sqs:SendMessage", queue)
    assert not evaluate(parse_policy(document, name="proposal").statements,
                        "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q-bob",
                        context={"aws:username": "bob"}).allowed


def _tables_role(*statements: tuple[tuple[str, ...], str]) -> Role:
    return Role(key="r", name="r", policies=(Policy(name="tables", statements=tuple(
        Statement(effect="Allow", actions=actions, resources=(table_arn(pattern),))
        for actions, pattern in statements)),))


def test_fitting_a_roles_proposal_never_merges_past_what_the_role_grants() -> None:
    # Merging DynamoDB's statements over its tables would grant DeleteItem on the report
    # tables: a least-privilege proposal must not grant what the role does not
    role = _tables_role((("dynamodb:GetItem", "dynamodb:Query"), "reports-*"),
                        (("dynamodb:PutItem", "dynamodb:DeleteItem"), "scratch-*"))
    accesses = [access("dynamodb:GetItem", table_arn(f"reports-{n:03d}-{'x' * 40}"))
                for n in range(60)]
    accesses += [access("dynamodb:DeleteItem", table_arn(f"scratch-{n:03d}-{'y' * 40}"))
                 for n in range(60)]
    proposal = role_proposal(role, accesses, ["f"], [])
    assert all(policy_size(doc) <= MANAGED_LIMIT for doc in proposal.documents)
    assert not any("merged" in note for note in proposal.notes)
    report = table_arn(f"reports-000-{'x' * 40}")
    assert not any(allows(doc, "dynamodb:DeleteItem", report) for doc in proposal.documents)
    for a in accesses:
        assert any(allows(doc, a.action, a.resource) for doc in proposal.documents)


def test_fitting_a_roles_proposal_merges_what_the_role_grants_already() -> None:
    accesses = many_tables(60)
    role = _tables_role((("dynamodb:*",), "*"))
    proposal = role_proposal(role, accesses, ["f"], [])
    assert len(proposal.documents) == 1
    assert any("merged" in note for note in proposal.notes)


def test_a_roles_proposal_is_widened_to_service_star_only_where_the_role_grants_it() -> None:
    catalog = __import__("leastpriv_ci.catalog", fromlist=["get_catalog"]).get_catalog()
    actions = [info.full_name for info in catalog.expand("dynamodb:*")
               if info.resource_types][:60]
    accesses = [access(a, NOTES) for a in actions]
    unused = next(info.full_name for info in catalog.expand("dynamodb:*")
                  if info.full_name not in actions)
    narrow = role_proposal(_tables_role((tuple(actions), "notes")), accesses, ["f"], [],
                           limit=400)
    assert not any(allows(doc, unused, NOTES) for doc in narrow.documents)
    for a in accesses:
        assert any(allows(doc, a.action, a.resource) for doc in narrow.documents)
    assert not any("`dynamodb:*`" in note for note in narrow.notes)
    wide = role_proposal(_tables_role((("dynamodb:*",), "*")), accesses, ["f"], [], limit=400)
    assert wide.document["Statement"] == [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": NOTES}]


def test_an_unnamed_resource_granted_through_not_resource_only_says_what_it_excluded() -> None:
    # "NotResource ... matches every resource except the ones specified" (IAM JSON policy
    # elements: NotResource): the ARN format in the principal's account, for a call whose
    # trace named no queue, covers the queue the role left out; the note says so
    private = f"arn:aws:sqs:us-east-1:{ACCOUNT}:private"
    role = Role(key="r", name="r", policies=(Policy(name="p", statements=(Statement(
        effect="Allow", actions=("sqs:SendMessage",), resources=(private,),
        not_resources=True),)),))
    proposal = role_proposal(role, [use("f", "sqs:SendMessage", "*", known=False)], ["f"], [])
    assert allows(proposal.document, "sqs:SendMessage", private)  # the format's pattern
    assert any("NotResource" in note and private in note for note in proposal.notes)
    named = Role(key="r", name="r", policies=(Policy(name="p", statements=(Statement(
        effect="Allow", actions=("sqs:SendMessage",), resources=(private,)),)),))
    proposal = role_proposal(named, [use("f", "sqs:SendMessage", "*", known=False)], ["f"], [])
    assert not any("NotResource" in note for note in proposal.notes)


def test_fitting_never_merges_an_action_onto_what_a_not_resource_of_the_role_left_out(
) -> None:
    """The role grants S3 on every object but `b/notes/private`: merging S3's statements
    must not grant PutObject on the folder pattern `b/notes/*`, which covers it."""
    private = "arn:aws:s3:::b/notes/private"
    actions = ["s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging",
               "s3:PutObjectTagging", "s3:GetObjectAcl", "s3:PutObjectAcl"]
    role = Role(key="r", name="r", policies=(Policy(name="s3", statements=(
        Statement(effect="Allow", actions=(*actions, "s3:GetObject"), resources=(private,),
                  not_resources=True),)),))
    accesses = [access("s3:GetObject", f"arn:aws:s3:::b/notes/k{n}") for n in range(3)]
    accesses += [access(a, f"arn:aws:s3:::out-{n}/x") for n, a in enumerate(actions)]
    proposal = role_proposal(role, accesses, ["f"], [], limit=400)
    assert not any(allows(doc, "s3:PutObject", private) for doc in proposal.documents)
    for a in accesses:
        assert any(allows(doc, a.action, a.resource) for doc in proposal.documents)


def _delivery(action: str, resource: str) -> Access:
    return Access("AWS Lambda (on-failure destination of f)", action, resource, count=0)


def test_a_delivery_to_some_of_a_bucket_s_objects_is_granted_on_the_role_s_part_of_it(
        tmp_path: Path) -> None:
    """What Lambda writes to an S3 destination (keys it chooses, `BUCKET/*`) is granted on
    the role's own grants within the bucket, each under its Condition; a broader grant
    is narrowed to the bucket. Granting `BUCKET/*` would widen the role."""
    role = _role(tmp_path, [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": BUCKET + "/aws/lambda/*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": BUCKET + "/failures/*",
         "Condition": VPCE},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::other/*"},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}])
    proposal = role_proposal(role, [], ["f"], [], delivered=[
        _delivery("s3:PutObject", BUCKET + "/*"), _delivery("s3:ListBucket", BUCKET)])
    assert proposal.document["Statement"] == [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": BUCKET + "/aws/lambda/*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": BUCKET + "/failures/*",
         "Condition": VPCE},
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": BUCKET}]
    # an unconditioned grant of the whole bucket makes the narrower ones needless
    wide = _role(tmp_path, [
        {"Effect": "Allow", "Action": "s3:PutObject",
         "Resource": [BUCKET + "/aws/lambda/*", "arn:aws:s3:::*"]}])
    assert role_proposal(wide, [], ["f"], [], delivered=[
        _delivery("s3:PutObject", BUCKET + "/*")]).document["Statement"] == [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": BUCKET + "/*"}]
    # a role granting none of it: what Lambda needs, the bucket's objects
    none = _role(tmp_path, [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}])
    assert role_proposal(none, [], ["f"], [], delivered=[
        _delivery("s3:PutObject", BUCKET + "/*")]).document["Statement"] == [
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": BUCKET + "/*"}]


def test_a_delivery_to_a_queue_is_granted_on_it_under_the_role_s_condition(
        tmp_path: Path) -> None:
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders-dlq"
    role = _role(tmp_path, [
        {"Effect": "Allow", "Action": "sqs:SendMessage",
         "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders-*", "Condition": VPCE}])
    proposal = role_proposal(role, [], ["f"], [],
                             delivered=[_delivery("sqs:SendMessage", queue)])
    assert proposal.document["Statement"] == [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue,
         "Condition": VPCE}]
