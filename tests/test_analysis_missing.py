"""Missing and denied: used accesses the policies do not allow, and runtime denials."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from leastpriv_ci.analysis import analyse
from leastpriv_ci.analysis.context import traced_context
from leastpriv_ci.gate import GateRules, decide
from leastpriv_ci.policy.model import Policy, Role, Statement
from leastpriv_ci.records import Origin
from tests.analysis_support import (
    ACCOUNT,
    function_arn,
    load_role,
    observation,
    one,
    summary,
    table_arn,
    use,
)

UPLOADS = "arn:aws:s3:::uploads-bucket"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"


def run(role: Role, *accesses):  # type: ignore[no-untyped-def]
    return analyse(observation(accesses), {role.key: role},
                   {a.principal: role.key for a in accesses})


def test_deny_and_allow_mix_names_the_denying_statement() -> None:
    role = load_role("deny-mix-role.json")
    analysis = run(
        role,
        use("up", "s3:GetObject", UPLOADS + "/a/1"),
        use("up", "s3:PutObject", UPLOADS + "/a/2"),
        use("up", "s3:DeleteObject", UPLOADS + "/a/3"),
    )
    assert summary(analysis.findings, "missing", "denied") == {
        ("missing", "s3:DeleteObject", UPLOADS + "/a/3", "high", False),
        # denied only when the upload is not KMS-encrypted, which traces cannot tell
        ("missing", "s3:PutObject", UPLOADS + "/a/2", "medium", True),
    }
    delete = one(analysis.findings, "missing", "s3:DeleteObject", UPLOADS + "/a/3")
    assert delete.origin is not None and delete.origin.line == 15  # the NoDeletes Deny
    assert delete.detail["decision"] == "explicit_deny"
    assert delete.detail["statement"] == "NoDeletes"
    assert "Deny statement forbids it" in delete.message
    assert delete.trace_ids
    put = one(analysis.findings, "missing", "s3:PutObject", UPLOADS + "/a/2")
    assert put.origin is not None and put.origin.line == 21  # EncryptedOnly
    assert "may be refused: it is allowed, but a Deny statement applies" in put.message


def test_implicit_deny_points_at_the_closest_allow_of_the_same_action() -> None:
    role = load_role("deny-mix-role.json")
    other = "arn:aws:s3:::other-bucket/k"
    analysis = run(role, use("up", "s3:GetObject", other))
    finding = one(analysis.findings, "missing", "s3:GetObject", other)
    assert finding.severity == "high"
    assert finding.detail["decision"] == "implicit_deny"
    assert finding.origin is not None and finding.origin.line == 9  # BucketWide
    assert finding.fix == f"allow `s3:GetObject` on `{other}`"


def test_implicit_deny_with_no_statement_for_the_action_has_no_origin() -> None:
    role = load_role("deny-mix-role.json")
    analysis = run(role, use("up", "sns:Publish", TOPIC))
    finding = one(analysis.findings, "missing", "sns:Publish", TOPIC)
    assert finding.origin is None
    assert finding.access_level == "Write"
    assert finding.principals == (function_arn("up"),)


def test_denied_at_runtime_although_allowed_points_outside_the_role() -> None:
    role = load_role("deny-mix-role.json")
    analysis = run(role, use("up", "s3:GetObject", UPLOADS + "/a/1", denied=True))
    assert summary(analysis.findings, "missing", "denied") == {
        ("denied", "s3:GetObject", UPLOADS + "/a/1", "high", False)
    }
    finding = one(analysis.findings, "denied", "s3:GetObject", UPLOADS + "/a/1")
    assert "although the role's policies allow it" in finding.message
    assert finding.detail["decision"] == "allow"
    assert finding.origin is not None and finding.origin.line == 9


def test_a_denial_whose_error_names_a_policy_outside_the_role_says_so() -> None:
    """The calls' errors said what refused them: the finding says it too, and its fix
    is that policy's change, not a grant the role already has or would not help."""
    role = Role("R", "R", (Policy("p", (Statement("Allow", ("sqs:*",), ("*",)),)),))
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    refused = replace(use("f", "sqs:SendMessage", queue, denied=True),
                      refused_by=("explicit deny in a service control policy",))
    plain = use("f", "sqs:DeleteMessage", queue, denied=True)
    analysis = run(role, refused, plain)
    send = one(analysis.findings, "denied", "sqs:SendMessage", queue)
    assert send.detail["refused_by"] == ["explicit deny in a service control policy"]
    assert send.message.endswith(
        "(its error says: explicit deny in a service control policy)")
    assert send.fix.startswith("change the policy the error names (explicit deny in a "
                               "service control policy)")
    delete = one(analysis.findings, "denied", "sqs:DeleteMessage", queue)
    assert "refused_by" not in delete.detail and "error says" not in delete.message
    assert delete.fix.startswith("find the policy outside the role")


def test_a_denial_a_resource_policy_s_deny_for_anyone_explains_points_at_it() -> None:
    """The files declare the bucket's policy: its Deny for anyone but the admin roles
    (decided by the role's ARN) refused the upload the role's policies allow; a TLS-only
    Deny refuses no SDK call; a read it does not cover was refused elsewhere."""
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/app"
    admins_only = Statement("Deny", ("s3:PutObject",), (UPLOADS + "/*",), sid="AdminsWrite",
                            principal="*", origin=BUCKET_POLICY, conditions={
                                "StringNotLike": {"aws:PrincipalArn": (
                                    f"arn:aws:iam::{ACCOUNT}:role/admin-*",)}})
    tls_only = Statement("Deny", ("s3:*",), (UPLOADS + "/*",), sid="TlsOnly", principal="*",
                         origin=BUCKET_POLICY, conditions={"Bool": {
                             "aws:SecureTransport": ("false",)}})
    role = Role(role_arn, "app", (Policy("p", (Statement("Allow", ("s3:*",), ("*",)),)),),
                resource_grants=(tls_only, admins_only))
    put = use("up", "s3:PutObject", UPLOADS + "/a", denied=True)
    get = use("up", "s3:GetObject", UPLOADS + "/b", denied=True)
    analysis = analyse(observation([put, get]), {role_arn: role},
                       {a.principal: role_arn for a in (put, get)}, context=traced_context())
    refused = one(analysis.findings, "denied", "s3:PutObject", UPLOADS + "/a")
    assert (refused.detail["decision"], refused.detail["statement"], refused.origin) == (
        "resource_deny", "AdminsWrite", BUCKET_POLICY)
    assert "a Deny statement of the resource's policy forbids it" in refused.message
    assert refused.fix.startswith("change the Deny statement")
    elsewhere = one(analysis.findings, "denied", "s3:GetObject", UPLOADS + "/b")
    assert elsewhere.detail["decision"] == "allow"
    # an admin role is not refused by it: its upload's denial came from elsewhere
    # a use the bucket's policy grants stays explained by it, whatever Deny of the same
    # policy may apply under a condition the traces cannot decide (it succeeded)
    endpoint_only = Statement("Deny", ("s3:*",), (UPLOADS + "/*",), principal="*",
                              origin=BUCKET_POLICY, conditions={"StringNotEquals": {
                                  "aws:SourceVpce": ("vpce-1",)}})
    grants = Statement("Allow", ("s3:GetObject",), (UPLOADS + "/*",), sid="AppReads",
                       origin=BUCKET_POLICY, principal={"AWS": role_arn})
    reader = Role(role_arn, "app", (Policy("p", ()),), resource_grants=(grants, endpoint_only))
    read = use("up", "s3:GetObject", UPLOADS + "/c")
    analysis = analyse(observation([read]), {role_arn: reader}, {read.principal: role_arn},
                       context=traced_context())
    assert one(analysis.findings, "missing", "s3:GetObject", UPLOADS + "/c").detail[
        "decision"] == "resource_policy"
    admin = replace(role, key=f"arn:aws:iam::{ACCOUNT}:role/admin-ops")
    analysis = analyse(observation([put]), {admin.key: admin}, {put.principal: admin.key},
                       context=traced_context())
    assert one(analysis.findings, "denied", "s3:PutObject", UPLOADS + "/a").detail[
        "decision"] == "allow"


def test_a_resource_policy_s_not_principal_deny_refuses_what_iam_says_it_does() -> None:
    """A Deny for everyone but the role refuses the role's own sessions (its ARN alone
    excepts none of them), so it is the denied upload's origin; one naming a session of
    the role may except the traced one (its name decides): not pointed at, unless the
    role has a permissions boundary, which such a Deny always refuses."""
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/app"
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/up"

    def refused(not_principal: object, boundary: Policy | None = None) -> object:
        deny = Statement("Deny", ("s3:PutObject",), (UPLOADS + "/*",), sid="OnlyTheApp",
                         origin=BUCKET_POLICY, not_principal=not_principal)
        role = Role(role_arn, "app", (Policy("p", (Statement("Allow", ("s3:*",), ("*",)),)),),
                    boundary=boundary, resource_grants=(deny,))
        put = use("up", "s3:PutObject", UPLOADS + "/a", denied=True)
        analysis = analyse(observation([put]), {role_arn: role}, {put.principal: role_arn},
                           context=traced_context())
        return one(analysis.findings, "denied", "s3:PutObject", UPLOADS + "/a").detail[
            "decision"]

    assert refused({"AWS": [role_arn, ACCOUNT]}) == "resource_deny"
    assert refused({"AWS": [session, role_arn, ACCOUNT]}) == "allow"
    bound = Policy("boundary", (Statement("Allow", ("*",), ("*",)),))
    assert refused({"AWS": [session, role_arn, ACCOUNT]}, bound) == "resource_deny"


def test_denied_by_a_deny_statement_points_at_it() -> None:
    role = load_role("deny-mix-role.json")
    analysis = run(role, use("up", "s3:DeleteObject", UPLOADS + "/x", denied=True))
    finding = one(analysis.findings, "denied", "s3:DeleteObject", UPLOADS + "/x")
    assert finding.detail["decision"] == "explicit_deny"
    assert finding.origin is not None and finding.origin.line == 15


def test_denied_with_no_grant_at_all() -> None:
    role = load_role("deny-mix-role.json")
    analysis = run(role, use("up", "sns:Publish", TOPIC, denied=True))
    finding = one(analysis.findings, "denied", "sns:Publish", TOPIC)
    assert finding.detail["decision"] == "implicit_deny"
    assert finding.origin is None
    # a denied call is still a need: the proposal includes it
    proposal = analysis.proposals[role.key]
    assert {"Effect": "Allow", "Action": "sns:Publish", "Resource": TOPIC} in proposal["Statement"]


def test_conditional_allow_is_may_be_missing_never_proof() -> None:
    role = load_role("conditional-role.json")
    tenants = table_arn("tenants")
    analysis = run(role, use("t", "dynamodb:GetItem", tenants))
    assert summary(analysis.findings, "missing", "denied") == {
        ("missing", "dynamodb:GetItem", tenants, "medium", True)
    }
    finding = one(analysis.findings, "missing", "dynamodb:GetItem", tenants)
    assert finding.detail["decision"] == "conditional"
    assert finding.origin is not None and finding.origin.policy_name == "TenantItems"


def test_an_undecided_deny_over_a_certain_allow_says_it_may_refuse() -> None:
    # The common guard "Deny * unless aws:SecureTransport": the access is allowed for
    # certain, and only the Deny's condition is undecided
    role = Role("R", "R", (Policy("p", (
        Statement("Allow", ("sns:Publish",), (TOPIC,)),
        Statement("Deny", ("*",), ("*",),
                  conditions={"Bool": {"aws:SecureTransport": ("false",)}}),
    )),))
    analysis = run(role, use("f", "sns:Publish", TOPIC))
    finding = one(analysis.findings, "missing", "sns:Publish", TOPIC)
    assert finding.conditional and finding.detail["decision"] == "conditional"
    assert "may be refused: it is allowed, but a Deny statement applies" in finding.message
    assert "only under a condition" not in finding.message
    assert finding.fix.startswith("check that the Deny statement's condition does not hold")
    # an Allow whose own condition is undecided keeps its wording
    guarded = load_role("conditional-role.json")
    tenants = table_arn("tenants")
    other = one(run(guarded, use("t", "dynamodb:GetItem", tenants)).findings, "missing",
                "dynamodb:GetItem", tenants)
    assert "is allowed only under a condition" in other.message


def test_conditional_allow_decided_by_a_context_is_not_missing() -> None:
    role = Role("R", "R", (Policy("p", (Statement(
        "Allow", ("sns:Publish",), (TOPIC,),
        conditions={"StringEquals": {"aws:RequestedRegion": ("us-east-1",)}}),)),))
    accesses = [use("f", "sns:Publish", TOPIC)]
    usage = observation(accesses)
    principals = {function_arn("f"): "R"}
    decided = analyse(usage, {"R": role}, principals,
                      context={"aws:RequestedRegion": "us-east-1"})
    assert summary(decided.findings, "missing") == set()
    refused = analyse(usage, {"R": role}, principals,
                      context={"aws:RequestedRegion": "eu-west-1"})
    assert summary(refused.findings, "missing") == {
        ("missing", "sns:Publish", TOPIC, "high", False)
    }


def test_permissions_boundary_that_does_not_allow_is_named() -> None:
    identity = Policy("p", (Statement("Allow", ("sqs:SendMessage",), ("*",)),))
    boundary = Policy("boundary", (Statement("Allow", ("sns:*",), ("*",)),),
                      origin=Origin(file="boundary.json", line=1))
    role = Role("R", "R", (identity,), boundary=boundary,
                origin=Origin(file="boundary.json", line=1))
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    analysis = run(role, use("f", "sqs:SendMessage", queue))
    finding = one(analysis.findings, "missing", "sqs:SendMessage", queue)
    assert finding.detail["decision"] == "boundary"
    assert "permissions boundary" in finding.message
    assert finding.fix == f"allow `sqs:SendMessage` on `{queue}` in the permissions boundary"


def test_unknown_resource_is_judged_by_the_boundary_too() -> None:
    # The trace named no resource, but the boundary allows the action nowhere: missing.
    identity = Policy("p", (Statement("Allow", ("sqs:SendMessage",), ("*",)),))
    boundary = Policy("boundary", (Statement("Allow", ("sns:*",), ("*",)),),
                      origin=Origin(file="boundary.json", line=1))
    role = Role("R", "R", (identity,), boundary=boundary)
    analysis = run(role, use("f", "sqs:SendMessage", "*", known=False))
    finding = one(analysis.findings, "missing", "sqs:SendMessage", "*")
    assert finding.detail["decision"] == "boundary"
    assert finding.origin == boundary.origin


def test_unknown_resource_is_judged_by_its_action_only() -> None:
    role = load_role("deny-mix-role.json")
    analysis = run(
        role,
        use("up", "sqs:SendMessage", "*", known=False),  # allowed on the uploads queue
        use("up", "kinesis:PutRecord", "*", known=False),  # allowed nowhere
    )
    assert summary(analysis.findings, "missing", "denied") == {
        ("missing", "kinesis:PutRecord", "*", "high", False)
    }
    finding = one(analysis.findings, "missing", "kinesis:PutRecord", "*")
    assert "do not name the resource" in finding.message
    assert finding.detail["resource_known"] is False
    assert analysis.coverage.unknown_resources == 2


def test_an_s3_call_with_an_unknown_key_is_judged_within_its_bucket() -> None:
    other = Statement("Allow", ("s3:GetObject",), ("arn:aws:s3:::other-bucket/*",),
                      origin=Origin(file="policy.json", line=4))
    role = Role("R", "R", (Policy("p", (other,)),))
    analysis = run(role, use("f", "s3:GetObject", "arn:aws:s3:::pics/*", known=False))
    # no object of pics can match other-bucket/*: every such call is refused, whatever
    # the key, and the other bucket's grant was not used
    assert summary(analysis.findings, "missing", "excess") == {
        ("missing", "s3:GetObject", "arn:aws:s3:::pics/*", "high", False),
        ("excess", "s3:GetObject", "arn:aws:s3:::other-bucket/*", "low", False),
    }
    missing = one(analysis.findings, "missing", "s3:GetObject", "arn:aws:s3:::pics/*")
    assert "do not name which resource within it" in missing.message
    assert missing.detail["resource_known"] is False
    assert missing.origin == other.origin  # the closest Allow of the action


def test_an_s3_call_with_an_unknown_key_is_allowed_by_a_grant_that_may_cover_it() -> None:
    # pics/public/* may hold the key: not provably missing, and the grant is not unused
    role = Role("R", "R", (Policy("p", (
        Statement("Allow", ("s3:GetObject",), ("arn:aws:s3:::pics/public/*",)),)),))
    analysis = run(role, use("f", "s3:GetObject", "arn:aws:s3:::pics/*", known=False))
    assert summary(analysis.findings, "missing", "excess") == set()


def test_a_call_the_roles_own_deny_refused_is_not_granted_by_the_proposal() -> None:
    # A denied call is a need, except where the role's own Deny refused it: the proposal
    # must not turn that guardrail (NoDeletes) into an Allow.
    role = load_role("deny-mix-role.json")
    analysis = run(role, use("up", "s3:GetObject", UPLOADS + "/a/1"),
                   use("up", "s3:DeleteObject", UPLOADS + "/a/3", denied=True),
                   use("up", "sns:Publish", TOPIC, denied=True))
    proposal = analysis.proposals[role.key]
    granted = {a for s in proposal["Statement"]  # type: ignore[attr-defined]
               if s["Effect"] == "Allow"
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "s3:DeleteObject" not in granted
    # and the guardrail itself is in the proposal, as declared
    assert any(s["Effect"] == "Deny" and s.get("Sid") == "NoDeletes"
               for s in proposal["Statement"])  # type: ignore[attr-defined]
    assert {"s3:GetObject", "sns:Publish"} <= granted  # a need where no Deny of its refused
    [note] = [n for n in analysis.proposal_notes[role.key] if "role's own Deny" in n]
    assert f"`s3:DeleteObject` on `{UPLOADS}/a/3`" in note
    assert one(analysis.findings, "denied", "s3:DeleteObject", UPLOADS + "/a/3")


def test_a_grant_through_a_policy_variable_that_cannot_match_proves_access_missing() -> None:
    # home/${aws:username}/* is some user's folder of the home bucket: whatever the
    # user name, it is never an object of another bucket, so that access is missing
    role = Role(key="r", name="r", policies=(Policy(name="homes", statements=(Statement(
        effect="Allow", actions=("s3:GetObject",),
        resources=("arn:aws:s3:::home-bucket/${aws:username}/*",)),)),))
    other = "arn:aws:s3:::other-bucket/k"
    analysis = run(role, use("up", "s3:GetObject", other),
                   use("up", "s3:GetObject", "arn:aws:s3:::home-bucket/bob/k"))
    assert summary(analysis.findings, "missing") == {
        ("missing", "s3:GetObject", other, "high", False),
        # bob's folder, if the traced user is bob: undecided
        ("missing", "s3:GetObject", "arn:aws:s3:::home-bucket/bob/k", "medium", True)}
    assert one(analysis.findings, "missing", "s3:GetObject", other).detail[
        "decision"] == "implicit_deny"


def test_an_unknown_resources_grant_is_decided_by_the_request_context_too() -> None:
    # the traced calls' context decides a TLS condition (request_context.yaml), whether
    # the trace named the resource or not: allowed over TLS, never allowed without it
    def allow(action: str, secure: str) -> Statement:
        return Statement("Allow", (action,), ("*",),
                         conditions={"Bool": {"aws:SecureTransport": (secure,)}})

    role = Role("R", "R", (Policy("p", (allow("sqs:SendMessage", "true"),
                                        allow("sqs:ReceiveMessage", "false"))),))
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    accesses = [use("f", action, resource, known=resource == queue)
                for action in ("sqs:SendMessage", "sqs:ReceiveMessage")
                for resource in (queue, "*")]
    analysis = analyse(observation(accesses), {"R": role},
                       {a.principal: "R" for a in accesses}, context=traced_context())
    assert summary(analysis.findings, "missing", "denied") == {
        ("missing", "sqs:ReceiveMessage", queue, "high", False),
        ("missing", "sqs:ReceiveMessage", "*", "high", False),
    }


def test_the_traced_calls_are_a_role_session_s_as_the_context_says() -> None:
    """Conditions on the principal's type decide for the traced calls: they are an
    assumed role's (a session of the principal's role), never an AWS service's. A
    perimeter Deny for anyone but AWS services refuses them for certain."""
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    sessions = Statement("Allow", ("sqs:SendMessage", "sqs:ReceiveMessage"), (queue,),
                         conditions={"StringEquals": {"aws:PrincipalType": ("AssumedRole",)}})
    services_only = Statement("Deny", ("sqs:ReceiveMessage",), ("*",), sid="ServicesOnly",
                              conditions={"BoolIfExists": {
                                  "aws:PrincipalIsAWSService": ("false",)}})
    role = Role("R", "R", (Policy("p", (sessions, services_only)),))
    accesses = [use("f", action, queue) for action in ("sqs:SendMessage", "sqs:ReceiveMessage")]
    analysis = analyse(observation(accesses), {"R": role},
                       {a.principal: "R" for a in accesses}, context=traced_context())
    assert summary(analysis.findings, "missing") == {
        ("missing", "sqs:ReceiveMessage", queue, "high", False)}
    assert one(analysis.findings, "missing", "sqs:ReceiveMessage", queue).detail[
        "decision"] == "explicit_deny"


def test_a_data_perimeter_on_the_resource_s_account_is_decided_per_use() -> None:
    """aws:ResourceAccount is the account the resource's ARN names: a boundary's
    perimeter refuses for certain the use of another account's queue, allows the role's
    own table, and leaves an S3 object (whose ARN names no account) undecided."""
    perimeter = Policy("perimeter", (
        Statement("Allow", ("*",), ("*",)),
        Statement("Deny", ("*",), ("*",), sid="OwnAccountOnly", conditions={
            "StringNotEqualsIfExists": {"aws:ResourceAccount": (ACCOUNT,)}}),
    ), origin=Origin(file="boundary.json", line=1))
    role = Role("R", "R", (Policy("p", (Statement("Allow", ("*",), ("*",)),)),),
                boundary=perimeter)
    theirs = "arn:aws:sqs:us-east-1:999999999999:jobs"
    analysis = run(role, use("f", "dynamodb:GetItem", table_arn("orders")),
                   use("f", "sqs:SendMessage", theirs),
                   use("f", "s3:GetObject", UPLOADS + "/a"))
    assert summary(analysis.findings, "missing") == {
        ("missing", "sqs:SendMessage", theirs, "high", False),
        ("missing", "s3:GetObject", UPLOADS + "/a", "medium", True)}
    assert one(analysis.findings, "missing", "sqs:SendMessage", theirs).detail[
        "decision"] == "explicit_deny"


def test_a_not_resource_deny_refuses_a_call_whose_key_the_trace_did_not_name() -> None:
    # denying GetObject everywhere but public/ refuses it on any object of pics, so the
    # call on pics whose key the trace did not name is refused as the named one is
    allow_all = Statement("Allow", ("s3:GetObject",), ("*",))
    deny = Statement("Deny", ("s3:GetObject",), ("arn:aws:s3:::public/*",),
                     not_resources=True, origin=Origin(file="policy.json", line=8))
    role = Role("R", "R", (Policy("p", (allow_all, deny)),))
    analysis = run(role, use("f", "s3:GetObject", "arn:aws:s3:::pics/*", known=False),
                   use("f", "s3:GetObject", "arn:aws:s3:::public/*", known=False))
    assert summary(analysis.findings, "missing") == {
        ("missing", "s3:GetObject", "arn:aws:s3:::pics/*", "high", False)}
    finding = one(analysis.findings, "missing", "s3:GetObject", "arn:aws:s3:::pics/*")
    assert finding.detail["decision"] == "explicit_deny"
    assert finding.origin is not None and finding.origin.line == 8


BUCKET_POLICY = Origin(file="template.yaml", line=40, logical_id="UploadsPolicy",
                       policy_name="bucket policy")


def _granted(*statements: Statement, boundary: Policy | None = None) -> Role:
    """A role whose own policy allows only GetItem, and which resource policies name."""
    own = Policy("own", (Statement("Allow", ("dynamodb:GetItem",), ("*",)),))
    return Role("R", "R", (own,), boundary=boundary, resource_grants=statements)


def test_a_use_a_resource_policy_grants_the_role_is_not_proof_of_a_missing_grant() -> None:
    role = _granted(Statement("Allow", ("s3:GetObject",), (UPLOADS + "/*",), sid="AppReads",
                              origin=BUCKET_POLICY))
    analysis = run(role, use("up", "s3:GetObject", UPLOADS + "/a"),
                   use("up", "s3:PutObject", UPLOADS + "/b"))
    assert summary(analysis.findings, "missing") == {
        ("missing", "s3:GetObject", UPLOADS + "/a", "medium", True),
        ("missing", "s3:PutObject", UPLOADS + "/b", "high", False),  # the policy grants no put
    }
    read = one(analysis.findings, "missing", "s3:GetObject", UPLOADS + "/a")
    assert read.detail["decision"] == "resource_policy"
    assert read.detail["statement"] == "AppReads"
    assert read.origin == BUCKET_POLICY  # where the grant the role depends on is
    assert "a resource-based policy naming the role does" in read.message
    assert read.fix == (f"allow `s3:GetObject` on `{UPLOADS}/a` in the role's policies too, "
                        "or keep the resource-based policy's statement: the role depends on it")
    verdict, marked = decide(analysis, GateRules(), today=date(2026, 12, 4))
    assert verdict.counts["missing"] == 2
    assert not verdict.passed  # the put, not the read
    assert [f.action for f in marked.findings if f.detail.get("fails_gate")] == [
        "s3:PutObject"]
    assert ("1 missing finding(s) are allowed by a resource-based policy (naming the role, "
            "or its account or organization), not by the role's own policies: reported, not "
            "gated.") in verdict.reasons
    assert not any("may be missing" in reason for reason in verdict.reasons)


def test_a_resource_grant_that_does_not_certainly_apply_changes_nothing() -> None:
    held = Statement("Allow", ("s3:GetObject",), (UPLOADS + "/*",), origin=BUCKET_POLICY,
                     conditions={"StringEquals": {"aws:sourcevpce": ("vpce-1",)}})
    unknown = Statement("Allow", ("s3:GetObject",), ("<unresolved:GetAtt Key.Arn>",),
                        origin=BUCKET_POLICY)
    boundary = Policy("boundary", (Statement("Allow", ("dynamodb:*",), ("*",)),),
                      origin=Origin(file="boundary.json", line=1))
    outside = Statement("Allow", ("s3:GetObject",), (UPLOADS + "/*",), origin=BUCKET_POLICY)
    for role in (_granted(held), _granted(unknown), _granted(outside, boundary=boundary)):
        analysis = run(role, use("up", "s3:GetObject", UPLOADS + "/a"),
                       use("up", "s3:GetObject", UPLOADS + "/d", denied=True))
        assert summary(analysis.findings, "missing", "denied") == {
            ("missing", "s3:GetObject", UPLOADS + "/a", "high", False),
            ("denied", "s3:GetObject", UPLOADS + "/d", "high", False),
        }


def test_a_grant_to_the_principal_s_organization_is_taken_as_held_and_said_so() -> None:
    """A condition on the principal's organization cannot be decided offline; a use that
    succeeded says it held. A statement that holds as it is explains the use first, and
    a boundary's statement never does."""
    org = {"StringEquals": {"aws:PrincipalOrgID": ("o-a1b2c3d4e5",)}}
    assumed = Statement("Allow", ("s3:GetObject", "s3:PutObject"), (UPLOADS + "/*",),
                        sid="Org", origin=BUCKET_POLICY, assumed=org)
    boundary = Policy("boundary", (Statement("Allow", ("s3:*",), ("*",), sid="Bound",
                                             origin=Origin(file="boundary.json", line=1)),))
    named = Statement("Allow", ("s3:GetObject",), (UPLOADS + "/*",), sid="AppReads",
                      origin=BUCKET_POLICY, principal={"AWS": "R"})
    # for anyone, decided for the role's account (aws:PrincipalAccount)
    account = Statement("Allow", ("s3:DeleteObject",), (UPLOADS + "/*",), sid="Account",
                        origin=BUCKET_POLICY, principal="*")
    analysis = run(_granted(assumed, named, account, boundary=boundary),
                   use("up", "s3:GetObject", UPLOADS + "/a"),
                   use("up", "s3:PutObject", UPLOADS + "/b"),
                   use("up", "s3:DeleteObject", UPLOADS + "/c"))
    read = one(analysis.findings, "missing", "s3:GetObject", UPLOADS + "/a")
    put = one(analysis.findings, "missing", "s3:PutObject", UPLOADS + "/b")
    delete = one(analysis.findings, "missing", "s3:DeleteObject", UPLOADS + "/c")
    assert read.detail["statement"] == "AppReads"
    assert "naming the role does" in read.message
    assert (delete.detail["decision"], delete.detail["statement"]) == (
        "resource_policy", "Account")
    assert "for every principal of the role's account" in delete.message
    assert delete.fix == read.fix.replace("GetObject", "DeleteObject").replace("/a`", "/c`")
    assert (put.detail["decision"], put.detail["statement"], put.origin) == (
        "resource_policy", "Org", BUCKET_POLICY)
    assert "for the principals of an organization" in put.message
    assert put.conditional and put.fix.startswith("allow `s3:PutObject`")
    verdict, _ = decide(analysis, GateRules(), today=date(2026, 12, 4))
    assert verdict.passed
