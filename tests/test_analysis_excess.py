"""Excess: grants beyond use, judged per (action pattern, resource pattern) of each statement."""

from __future__ import annotations

from leastpriv_ci.analysis import PlatformOptions, analyse
from leastpriv_ci.catalog import get_catalog
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

NOTES = table_arn("notes")
UPLOADS = "arn:aws:s3:::uploads-bucket"
SHARED_PATTERN = "arn:aws:dynamodb:us-east-1:*:*"
NOTES_FUNCTIONS = {
    "notes-create": "dynamodb:PutItem",
    "notes-get": "dynamodb:GetItem",
    "notes-list": "dynamodb:Query",
    "notes-update": "dynamodb:UpdateItem",
    "notes-delete": "dynamodb:DeleteItem",
}
XRAY = ("xray:GetSamplingRules", "xray:GetSamplingStatisticSummaries",
        "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments")
LOGS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")


def role_of(*statements: Statement, key: str = "AppRole") -> Role:
    return Role(key=key, name=key, policies=(Policy("inline", statements),))


def allow(actions: str | tuple[str, ...], resources: str | tuple[str, ...], **kw: object
          ) -> Statement:
    actions = (actions,) if isinstance(actions, str) else actions
    resources = (resources,) if isinstance(resources, str) else resources
    return Statement("Allow", actions, resources, origin=Origin(file="policy.json", line=3),
                     **kw)  # type: ignore[arg-type]


def shared_notes_analysis():
    role = load_role("notes-shared-role.json", key="NotesFunctionsRole")
    accesses = [use(fn, action, NOTES) for fn, action in NOTES_FUNCTIONS.items()]
    principals = {function_arn(fn): role.key for fn in NOTES_FUNCTIONS}
    return analyse(observation(accesses), {role.key: role}, principals)


def test_shared_role_wildcard_is_one_finding_with_the_unused_actions_in_detail() -> None:
    analysis = shared_notes_analysis()
    # on arn:aws:dynamodb:us-east-1:*:*, every action of a DynamoDB resource type; not
    # those IAM authorizes on "*" only (ListTables, DescribeLimits, ...)
    everything = get_catalog().expand("dynamodb:*")
    granted = len([i for i in everything if i.resource_types])
    assert 0 < granted < len(everything)
    assert summary(analysis.findings, "excess") == {
        ("excess", "dynamodb:*", SHARED_PATTERN, "high", False)
    }
    finding = one(analysis.findings, "excess", "dynamodb:*", SHARED_PATTERN)
    assert finding.message == (
        f"`dynamodb:*` grants {granted} actions on `{SHARED_PATTERN}`, 5 used, on 1 "
        "resource(s) only"
    )
    assert finding.detail["used_actions"] == sorted(NOTES_FUNCTIONS.values())
    assert finding.detail["unused_count"] == granted - 5
    unused = finding.detail["unused_actions"]
    assert "dynamodb:DeleteTable" in unused and "dynamodb:GetItem" not in unused
    assert "dynamodb:ListTables" not in unused
    # the most sensitive unused action decides the severity
    assert finding.access_level == "Permissions management"
    assert finding.detail["suggested_resources"] == [NOTES]
    assert NOTES in finding.fix and "dynamodb:GetItem" in finding.fix
    assert finding.origin is not None and finding.origin.line == 9
    assert finding.origin.file.endswith("notes-shared-role.json")
    assert len(finding.trace_ids) == 5


def test_shared_role_is_flagged_with_what_each_principal_needs() -> None:
    analysis = shared_notes_analysis()
    assert analysis.shared_roles == {
        "NotesFunctionsRole": tuple(sorted(function_arn(fn) for fn in NOTES_FUNCTIONS))
    }
    finding = one(analysis.findings, "excess", "dynamodb:*", SHARED_PATTERN)
    assert finding.detail["per_principal"][function_arn("notes-get")] == [
        f"dynamodb:GetItem on {NOTES}"
    ]
    own = analysis.principal_proposals[function_arn("notes-get")]
    dynamodb = [s for s in own["Statement"] if str(s["Action"]).startswith("dynamodb")]
    # under the Sid of the shared role's statement it narrows
    assert dynamodb == [{"Sid": "AllTables", "Effect": "Allow", "Action": "dynamodb:GetItem",
                         "Resource": NOTES}]


def test_platform_permissions_of_the_shared_role_are_platform_never_excess() -> None:
    analysis = shared_notes_analysis()
    assert summary(analysis.findings, "platform") == {
        ("platform", action, "*", "info", False) for action in (*LOGS, *XRAY)
    }
    assert not [f for f in analysis.findings if f.kind == "excess" and f.resource == "*"]


def test_sam_crud_policy_template_reports_each_unused_action_per_resource() -> None:
    role = load_role("sam-crud-role.json")
    bucket = "arn:aws:s3:::notes-attachments"
    index = table_arn("attachments") + "/index/*"
    accesses = [
        use("attach", "dynamodb:GetItem", table_arn("attachments")),
        use("attach", "dynamodb:Query", table_arn("attachments") + "/index/byNote"),
        use("attach", "s3:GetObject", bucket + "/notes/1/a.png"),
        use("attach", "s3:GetObject", bucket + "/notes/2/b.png"),
        use("attach", "s3:ListBucket", bucket),
    ]
    analysis = analyse(observation(accesses), {role.key: role},
                       {function_arn("attach"): role.key})
    table = table_arn("attachments")
    # A pair whose action cannot apply to the resource grants nothing and is not
    # reported, when the action applies to another resource of the statement: the item
    # actions on index/*, s3:GetObject on the bucket, s3:ListBucket on its objects.
    write = ("BatchWriteItem", "DeleteItem", "PutItem", "UpdateItem")
    read = ("BatchGetItem", "ConditionCheckItem", "DescribeTable")
    expected = {("excess", f"dynamodb:{a}", table, "medium", False) for a in write}
    expected |= {("excess", f"dynamodb:{a}", table, "low", False) for a in read}
    expected |= {
        ("excess", "dynamodb:Query", table, "low", False),  # used on the index only
        ("excess", "dynamodb:Query", index, "low", False),  # index/* used on one index
        ("excess", "dynamodb:Scan", table, "low", False),
        ("excess", "dynamodb:Scan", index, "low", False),
        ("excess", "s3:GetObject", bucket + "/*", "low", False),  # keys under notes/ only
        ("excess", "s3:GetObjectVersion", bucket + "/*", "low", False),
        ("excess", "s3:GetBucketLocation", bucket, "low", False),
        ("excess", "s3:GetLifecycleConfiguration", bucket, "low", False),
    }
    assert summary(analysis.findings, "excess") == expected
    broad = one(analysis.findings, "excess", "s3:GetObject", bucket + "/*")
    assert broad.message == f"`s3:GetObject` on `{bucket}/*` was used on 2 resource(s) only"
    assert broad.detail["suggested_resources"] == [bucket + "/notes/*"]
    assert summary(analysis.findings, "platform") == {
        ("platform", a, "*", "info", False) for a in LOGS
    }
    assert not summary(analysis.findings, "missing", "denied")


def test_everything_on_everything_is_critical_and_names_the_statement() -> None:
    role = role_of(allow("*", "*"))
    analysis = analyse(observation([use("f", "sqs:SendMessage", "arn:aws:sqs:us-east-1:"
                                        f"{ACCOUNT}:q")]), {role.key: role},
                       {function_arn("f"): role.key})
    finding = one(analysis.findings, "excess", "*", "*")
    assert finding.severity == "critical"
    assert finding.detail["unused_count"] == len(get_catalog()) - 1 - len(LOGS) - len(XRAY) - 5
    assert finding.origin == Origin(file="policy.json", line=3)


def test_not_action_on_everything_is_critical() -> None:
    role = load_role("notaction-role.json")
    analysis = analyse(observation([use("f", "s3:ListAllMyBuckets", "*")]), {role.key: role},
                       {function_arn("f"): role.key})
    label = "NotAction(iam:*, organizations:*, account:*)"
    finding = one(analysis.findings, "excess", label, "*")
    assert finding.severity == "critical"
    catalog = get_catalog()
    excluded = {i.full_name for p in ("iam:*", "organizations:*", "account:*")
                for i in catalog.expand(p)}
    assert finding.detail["granted_actions"] == len(catalog) - len(excluded)
    assert not any(a.startswith("iam:") for a in finding.detail["unused_actions"])


def test_star_is_not_excess_for_actions_without_resource_level_permissions() -> None:
    role = role_of(allow(("s3:ListAllMyBuckets", "sts:GetCallerIdentity"), "*"))
    analysis = analyse(
        observation([use("f", "s3:ListAllMyBuckets", "*"),
                     use("f", "sts:GetCallerIdentity", "*")]),
        {role.key: role}, {function_arn("f"): role.key})
    assert summary(analysis.findings) == set()


def test_star_is_broad_for_a_resource_level_action_used_on_one_table() -> None:
    role = role_of(allow("dynamodb:GetItem", "*"))
    analysis = analyse(observation([use("f", "dynamodb:GetItem", NOTES)]), {role.key: role},
                       {function_arn("f"): role.key})
    assert summary(analysis.findings) == {("excess", "dynamodb:GetItem", "*", "low", False)}
    finding = one(analysis.findings, "excess", "dynamodb:GetItem", "*")
    assert finding.fix == f"narrow the resource to `{NOTES}`"


def broad_s3_findings(pattern: str, key: str, action: str = "s3:GetObject"):
    role = role_of(allow(action, pattern))
    analysis = analyse(observation([use("f", action, f"arn:aws:s3:::pics/{key}")]),
                       {role.key: role}, {function_arn("f"): role.key})
    return [f for f in analysis.findings if f.kind == "excess"], analysis


def test_a_pattern_is_not_broad_when_the_proposal_would_write_a_wider_one() -> None:
    # the keys generalise to pics/* and pics/users/*: wider than what is declared
    for pattern, key, action in (
        ("arn:aws:s3:::pics/*.png", "photo.png", "s3:GetObject"),
        ("arn:aws:s3:::pics/users/alice/*", "users/alice/1.png", "s3:PutObject"),
    ):
        excess, analysis = broad_s3_findings(pattern, key, action)
        assert excess == []
        assert analysis.proposals["AppRole"]["Statement"] == [
            {"Effect": "Allow", "Action": action, "Resource": pattern}]


def test_a_pattern_with_a_policy_variable_is_not_narrowed_to_its_staging_value() -> None:
    excess, _ = broad_s3_findings("arn:aws:s3:::pics/${aws:PrincipalTag/team}/*",
                                  "team-a/photo.png")
    assert excess == []


def test_a_pattern_wider_than_the_used_folder_is_still_broad() -> None:
    excess, _ = broad_s3_findings("arn:aws:s3:::pics/*", "users/alice/1.png")
    assert [f.detail["suggested_resources"] for f in excess] == [["arn:aws:s3:::pics/users/*"]]


def test_unknown_resources_keep_a_pattern_from_looking_broad() -> None:
    bucket_objects = "arn:aws:s3:::uploads/*"
    role = role_of(allow(("s3:GetObject", "s3:PutObject"), bucket_objects))
    accesses = [
        use("f", "s3:GetObject", "arn:aws:s3:::uploads/a/1"),
        use("f", "s3:GetObject", "*", known=False),
        use("f", "s3:PutObject", "arn:aws:s3:::uploads/a/2"),
    ]
    analysis = analyse(observation(accesses), {role.key: role}, {function_arn("f"): role.key})
    # GetObject had an access without a resource name: its pattern is not judged;
    # PutObject was seen on one key only, so its pattern is broad.
    assert summary(analysis.findings) == {
        ("excess", "s3:PutObject", bucket_objects, "medium", False)
    }
    assert analysis.coverage.unknown_resources == 1


def test_unknown_resources_are_counted_and_caveated_on_a_wildcard() -> None:
    role = role_of(allow("s3:Get*", "arn:aws:s3:::uploads/*"))
    analysis = analyse(observation([use("f", "s3:GetObject", "*", known=False)]),
                       {role.key: role}, {function_arn("f"): role.key})
    finding = one(analysis.findings, "excess", "s3:Get*", "arn:aws:s3:::uploads/*")
    assert finding.detail["unknown_resources"] == 1
    assert "had no resource name" in finding.message
    assert "suggested_resources" not in finding.detail


def test_conditional_statement_is_excess_only_with_the_caveat() -> None:
    role = load_role("conditional-role.json")
    analysis = analyse(observation([use("t", "dynamodb:GetItem", table_arn("tenants"))]),
                       {role.key: role}, {function_arn("t"): role.key})
    tenants = table_arn("tenants")
    assert summary(analysis.findings, "excess") == {
        ("excess", "dynamodb:DeleteItem", tenants, "medium", True),
        ("excess", "dynamodb:PutItem", tenants, "medium", True),
    }
    assert "only while its condition holds" in one(
        analysis.findings, "excess", "dynamodb:PutItem", tenants).message


def test_unused_statement_is_reported_per_pattern() -> None:
    role = role_of(allow("dynamodb:GetItem", NOTES), allow("sns:Publish", "arn:aws:sns:*"))
    analysis = analyse(observation([use("f", "dynamodb:GetItem", NOTES)]), {role.key: role},
                       {function_arn("f"): role.key})
    assert summary(analysis.findings) == {
        ("excess", "sns:Publish", "arn:aws:sns:*", "medium", False)
    }
    finding = analysis.findings[0]
    assert finding.fix == "remove `sns:Publish` on `arn:aws:sns:*` from the statement"
    assert finding.trace_ids == ()


def test_logs_wildcard_sets_platform_actions_aside() -> None:
    role = role_of(allow("logs:*", "*"))
    analysis = analyse(observation([use("f", "sts:GetCallerIdentity", "*")]), {role.key: role},
                       {function_arn("f"): role.key})
    assert summary(analysis.findings, "platform") == {
        ("platform", a, "*", "info", False) for a in LOGS
    }
    finding = one(analysis.findings, "excess", "logs:*", "*")
    assert finding.detail["unused_count"] == len(get_catalog().expand("logs:*")) - 3
    assert not set(LOGS) & set(finding.detail["unused_actions"])


def test_platform_groups_switched_off_make_their_grants_excess() -> None:
    role = role_of(allow(LOGS, "*"))
    principals = {function_arn("f"): role.key}
    usage = observation([use("f", "sts:GetCallerIdentity", "*")])
    off = analyse(usage, {role.key: role}, principals, platform=PlatformOptions(enabled=False))
    assert summary(off.findings, "excess", "platform") == {
        ("excess", a, "*", "medium", False) for a in LOGS
    }
    only_logs_off = analyse(usage, {role.key: role}, principals,
                            platform=PlatformOptions(modes={"lambda-logs": "off"}))
    assert summary(only_logs_off.findings, "platform") == set()


def test_event_source_poller_is_platform_only_when_granted_by_name() -> None:
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    poller = role_of(allow(("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                            "sqs:ChangeMessageVisibility"), queue), key="Poller")
    wildcard = role_of(allow("sqs:*", queue), key="Wildcard")
    usage = observation([use("p", "sts:GetCallerIdentity", "*"),
                         use("w", "sts:GetCallerIdentity", "*")])
    analysis = analyse(usage, {"Poller": poller, "Wildcard": wildcard},
                       {function_arn("p"): "Poller", function_arn("w"): "Wildcard"})
    assert {f.action for f in analysis.findings
            if f.role == "Poller" and f.kind in ("excess", "platform")} == {
        "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
    }
    assert {(f.kind, f.action) for f in analysis.findings if f.role == "Poller"
            and f.kind == "excess"} == {("excess", "sqs:ChangeMessageVisibility")}
    wild = one(analysis.findings, "excess", "sqs:*", queue)
    assert "sqs:ReceiveMessage" in wild.detail["unused_actions"]
    assert not [f for f in analysis.findings if f.role == "Wildcard" and f.kind == "platform"]


def test_the_same_grant_in_two_statements_is_one_finding() -> None:
    first = allow("sns:Publish", "arn:aws:sns:us-east-1:123456789012:t")
    second = Statement("Allow", ("sns:Publish",), ("arn:aws:sns:us-east-1:123456789012:t",),
                       origin=Origin(file="other.json", line=7))
    role = role_of(first, second)
    analysis = analyse(observation([use("f", "sts:GetCallerIdentity", "*")]), {role.key: role},
                       {function_arn("f"): role.key})
    excess = [f for f in analysis.findings if f.kind == "excess"]
    assert len(excess) == 1
    assert excess[0].origin == Origin(file="policy.json", line=3)
    assert excess[0].detail["also_declared_at"] == ["other.json:7"]


def test_the_same_grant_spelled_in_another_case_is_one_finding() -> None:
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    first = allow("sqs:SendMessage", queue)
    second = Statement("Allow", ("SQS:sendmessage",), (queue,),
                       origin=Origin(file="other.json", line=7))
    other_queue = Statement("Allow", ("SQS:sendmessage",), (queue.upper(),),
                            origin=Origin(file="other.json", line=9))
    role = role_of(first, second, other_queue)
    analysis = analyse(observation([use("f", "sts:GetCallerIdentity", "*")]), {role.key: role},
                       {function_arn("f"): role.key})
    excess = [f for f in analysis.findings if f.kind == "excess"]
    # ARNs are case-sensitive: the upper-cased queue is another resource, another finding
    assert sorted(f.resource for f in excess) == sorted([queue, queue.upper()])
    same = one(analysis.findings, "excess", "sqs:SendMessage", queue)
    assert same.detail["also_declared_at"] == ["other.json:7"]


def test_actions_an_unconditional_deny_takes_away_are_not_excess() -> None:
    bucket = "arn:aws:s3:::uploads/*"
    deny = Statement("Deny", ("s3:Delete*", "s3:PutObjectAcl"), ("arn:aws:s3:::*",),
                     origin=Origin(file="policy.json", line=9))
    role = role_of(allow(("s3:GetObject", "s3:DeleteObject", "s3:PutObjectAcl"), bucket), deny,
                   allow("s3:*", bucket))
    analysis = analyse(observation([use("f", "s3:GetObject", "arn:aws:s3:::uploads/a/1"),
                                    use("f", "s3:GetObject", "arn:aws:s3:::uploads/b/2")]),
                       {role.key: role}, {function_arn("f"): role.key})
    # DeleteObject and PutObjectAcl are granted then denied on every uploads object:
    # never effective, so not excess; GetObject's pattern is as narrow as the keys allow.
    assert summary(analysis.findings) == {("excess", "s3:*", bucket, "high", False)}
    wildcard = one(analysis.findings, "excess", "s3:*", bucket)
    assert "s3:DeleteObject" in wildcard.detail["denied_by_policy"]
    assert "s3:DeleteObject" not in wildcard.detail["unused_actions"]
    assert "s3:PutObjectAcl" not in wildcard.detail["unused_actions"]


def bounded_role(*boundary: Statement) -> Role:
    return Role(key="AppRole", name="AppRole",
                policies=(Policy("inline", (allow("s3:*", "arn:aws:s3:::pics/*"),)),),
                boundary=Policy("boundary", boundary))


def test_actions_the_permissions_boundary_does_not_allow_are_not_excess() -> None:
    role = bounded_role(
        Statement("Allow", ("s3:GetObject",), ("*",)),
        Statement("Allow", ("s3:PutObject",), ("arn:aws:s3:::other/*",)),  # not on pics
        Statement("Allow", ("s3:DeleteObject",), ("arn:aws:s3:::pics/*",),
                  conditions={"StringEquals": {"aws:ResourceTag/x": ("y",)}}),
    )
    usage = observation([use("f", "s3:GetObject", "arn:aws:s3:::pics/a/photo.png")])
    analysis = analyse(usage, {role.key: role}, {function_arn("f"): role.key})
    finding = one(analysis.findings, "excess", "s3:*", "arn:aws:s3:::pics/*")
    # only GetObject and (under an undecidable condition) DeleteObject are effective:
    # the other 40-odd actions s3:* grants, Permissions management and Write among them,
    # are not counted, and the severity comes from what remains (DeleteObject: Write)
    assert finding.detail["unused_actions"] == ["s3:DeleteObject"]
    assert finding.detail["unused_by_level"] == {"Write": 1}
    assert finding.severity == "medium"
    assert "s3:PutObject" in finding.detail["outside_boundary"]
    assert "s3:PutObjectAcl" in finding.detail["outside_boundary"]


def test_a_wildcard_within_the_boundary_only_as_used_is_just_broad() -> None:
    role = bounded_role(Statement("Allow", ("s3:GetObject",), ("*",)))
    usage = observation([use("f", "s3:GetObject", "arn:aws:s3:::pics/a/photo.png")])
    analysis = analyse(usage, {role.key: role}, {function_arn("f"): role.key})
    finding = one(analysis.findings, "excess", "s3:*", "arn:aws:s3:::pics/*")
    assert finding.severity == "low"
    assert finding.detail["unused_count"] == 0
    assert finding.detail["suggested_resources"] == ["arn:aws:s3:::pics/a/*"]


def test_an_unconditional_boundary_deny_counts_actions_out_a_conditional_one_does_not() -> None:
    role = bounded_role(
        Statement("Allow", ("s3:*",), ("*",)),
        Statement("Deny", ("s3:Put*",), ("*",)),
        Statement("Deny", ("s3:Delete*",), ("*",),
                  conditions={"Bool": {"aws:MultiFactorAuthPresent": ("false",)}}),
    )
    usage = observation([use("f", "s3:GetObject", "arn:aws:s3:::pics/a/photo.png")])
    analysis = analyse(usage, {role.key: role}, {function_arn("f"): role.key})
    finding = one(analysis.findings, "excess", "s3:*", "arn:aws:s3:::pics/*")
    assert "s3:PutObject" in finding.detail["outside_boundary"]
    assert "s3:PutObject" not in finding.detail["unused_actions"]
    assert "s3:DeleteObject" in finding.detail["unused_actions"]


def test_a_group_switched_on_for_one_role_only_applies_there() -> None:
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234"
    encrypted = role_of(allow("kms:Decrypt", key_arn), key="Encrypted")
    plain = role_of(allow("kms:Decrypt", key_arn), key="Plain")
    usage = observation([use("e", "dynamodb:GetItem", NOTES), use("p", "dynamodb:GetItem", NOTES)])
    analysis = analyse(usage, {"Encrypted": encrypted, "Plain": plain},
                       {function_arn("e"): "Encrypted", function_arn("p"): "Plain"},
                       platform=PlatformOptions(
                           roles={"Encrypted": frozenset({"kms-environment"})}))
    kinds = {(f.role, f.kind) for f in analysis.findings if f.action == "kms:Decrypt"}
    assert kinds == {("Encrypted", "platform"), ("Plain", "excess")}
    # the proposal keeps the platform grant on the declared key, as the data says
    assert {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn} in (
        analysis.proposals["Encrypted"]["Statement"])
    assert "kms:Decrypt" not in json_text(analysis.proposals["Plain"])


def json_text(doc: object) -> str:
    import json
    return json.dumps(doc)


def test_a_deny_on_part_of_the_pattern_does_not_take_the_grant_away() -> None:
    # `b/?` denies one-character keys only: DeleteObject stays granted on the others.
    bucket = "arn:aws:s3:::uploads/*"
    deny = Statement("Deny", ("s3:DeleteObject",), ("arn:aws:s3:::uploads/?",))
    role = role_of(allow("s3:DeleteObject", bucket), deny)
    analysis = analyse(observation([use("f", "sts:GetCallerIdentity", "*")]),
                       {role.key: role}, {function_arn("f"): role.key})
    assert ("excess", "s3:DeleteObject", bucket) in {
        (f.kind, f.action, f.resource) for f in analysis.findings}


def test_narrowing_keeps_the_used_actions_that_take_no_resource_on_star() -> None:
    # sqs:ListQueues supports no resource type: narrowing `sqs:*` to the queue breaks it.
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    role = role_of(allow("sqs:*", "*"))
    analysis = analyse(observation([use("f", "sqs:ListQueues", "*"),
                                    use("f", "sqs:SendMessage", queue)]),
                       {role.key: role}, {function_arn("f"): role.key})
    finding = one(analysis.findings, "excess", "sqs:*", "*")
    assert finding.detail["suggested_resources"] == [queue]
    assert "keep `sqs:ListQueues` on `*`" in finding.fix


def test_a_wildcard_counts_only_the_actions_its_resource_can_grant() -> None:
    # dynamodb:* on an index ARN grants the index actions only (IAM authorizes the
    # table's actions on table ARNs), and s3:Get* on BUCKET/* the object actions only.
    catalog = get_catalog()
    index = table_arn("notes") + "/index/byOwner"
    role = role_of(allow("dynamodb:*", index), allow("s3:Get*", UPLOADS + "/*"))
    analysis = analyse(observation([use("f", "dynamodb:Query", index),
                                    use("f", "s3:GetObject", UPLOADS + "/a")]),
                       {role.key: role}, {function_arn("f"): role.key})
    on_index = [i for i in catalog.expand("dynamodb:*")
                if any(r.name == "index" for r in i.resource_types)]
    dynamo = one(analysis.findings, "excess", "dynamodb:*", index)
    assert dynamo.detail["granted_actions"] == len(on_index)
    assert dynamo.detail["unused_count"] == len(on_index) - 1
    assert "dynamodb:PutResourcePolicy" not in dynamo.detail["unused_actions"]
    # the strongest level among the index actions, not Permissions management
    levels = {i.access_level for i in on_index if i.full_name != "dynamodb:Query"}
    assert dynamo.access_level != "Permissions management"
    assert dynamo.access_level in levels
    on_objects = [i for i in catalog.expand("s3:Get*")
                  if any(r.name == "object" for r in i.resource_types)]
    s3 = one(analysis.findings, "excess", "s3:Get*", UPLOADS + "/*")
    assert s3.detail["granted_actions"] == len(on_objects)
    assert "s3:GetBucketPolicy" not in s3.detail["unused_actions"]
    assert "s3:GetObjectTagging" in s3.detail["unused_actions"]


def test_a_statement_that_grants_nothing_anywhere_is_still_reported() -> None:
    # s3:GetObject on a bucket ARN alone: no other resource of the statement takes it,
    # so the mistake is judged as written (next to the bucket's objects it is skipped)
    bucket = "arn:aws:s3:::notes-attachments"
    alone = role_of(allow("s3:GetObject", bucket))
    used = observation([use("f", "s3:ListBucket", bucket)])
    analysis = analyse(used, {alone.key: alone}, {function_arn("f"): alone.key})
    assert ("excess", "s3:GetObject", bucket, "low", False) in summary(analysis.findings,
                                                                        "excess")
    paired = role_of(allow("s3:GetObject", (bucket, bucket + "/*")))
    analysis = analyse(used, {paired.key: paired}, {function_arn("f"): paired.key})
    assert {(f.action, f.resource) for f in analysis.findings if f.kind == "excess"} == {
        ("s3:GetObject", bucket + "/*")}


def test_platform_grants_of_a_not_resource_statement_are_kept_in_the_proposal() -> None:
    # "everything but iam:*, except on one bucket" grants the Lambda logs and X-Ray
    # writes too: the findings say they are kept, so the proposal must keep them
    role = role_of(allow("iam:*", "arn:aws:s3:::secret/*", not_actions=True,
                         not_resources=True))
    analysis = analyse(observation([use("f", "dynamodb:GetItem", table_arn("notes"))]),
                       {role.key: role}, {function_arn("f"): role.key})
    assert {f.action for f in analysis.findings if f.kind == "platform"} >= {
        *LOGS, "xray:PutTraceSegments"}
    granted = {a for s in analysis.proposals[role.key]["Statement"]  # type: ignore[attr-defined]
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert {*LOGS, "xray:PutTraceSegments", "dynamodb:GetItem"} <= granted


def test_an_api_operations_name_grants_nothing_and_is_no_excess_but_a_typo_is() -> None:
    # SAM's SQSPollerPolicy grants sqs:DeleteMessageBatch, which IAM authorizes as
    # sqs:DeleteMessage: the name itself grants nothing there is to remove.
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    role = role_of(allow(("sqs:DeleteMessage", "sqs:DeleteMessageBatch",
                          "sqs:ReceiveMesage"), queue))
    accesses = [use("worker", "sqs:DeleteMessage", queue)]
    analysis = analyse(observation(accesses), {role.key: role},
                       {function_arn("worker"): role.key},
                       platform=PlatformOptions(enabled=False))
    assert [f.action for f in analysis.findings if f.kind == "excess"] == [
        "sqs:ReceiveMesage"]  # a typo may be an action newer than the catalog: judged


def test_a_not_resource_deny_that_leaves_none_of_the_pattern_takes_the_grant_away() -> None:
    # "NotResource ... matches every resource except the ones specified" (IAM JSON policy
    # elements: NotResource): denying DeleteObject everywhere but scratch/ denies it on
    # every uploads object, as a Deny on uploads/* would; one whose exclusion may fall in
    # the pattern does not
    bucket = "arn:aws:s3:::uploads/*"
    for excluded, removed in (("arn:aws:s3:::scratch/*", True),
                              ("arn:aws:s3:::uploads/tmp/*", False)):
        deny = Statement("Deny", ("s3:DeleteObject",), (excluded,), not_resources=True)
        role = role_of(allow(("s3:GetObject", "s3:DeleteObject"), bucket), deny)
        analysis = analyse(observation([use("f", "s3:GetObject", "arn:aws:s3:::uploads/a/1")]),
                           {role.key: role}, {function_arn("f"): role.key})
        found = ("excess", "s3:DeleteObject", bucket) in {
            (f.kind, f.action, f.resource) for f in analysis.findings}
        assert found is not removed, excluded
