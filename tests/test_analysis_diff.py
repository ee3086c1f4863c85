"""The proposal laid out like the declared policy, and the diff between the two."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from leastpriv_ci.analysis import analyse
from leastpriv_ci.analysis.diff import in_declared_order, policy_diff
from leastpriv_ci.analysis.proposal import policy_size, propose_policies
from leastpriv_ci.policy.files import load_policy_file
from leastpriv_ci.policy.model import Role
from leastpriv_ci.records import Access
from tests.analysis_support import function_arn, observation, table_arn, use

BUCKET = "arn:aws:s3:::files"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def _role(tmp_path: Path, *statements: dict[str, object]) -> Role:
    path = tmp_path / "role.json"
    path.write_text(json.dumps({"RoleName": "App", "Policies": [{
        "PolicyName": "app", "PolicyDocument": {"Version": "2012-10-17",
                                                "Statement": list(statements)}}]}))
    loaded = load_policy_file(path)
    return Role(key="App", name="App", policies=loaded.policies)


FILES = {"Sid": "Files", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": f"{BUCKET}/*"}
TABLES = {"Sid": "Tables", "Effect": "Allow", "Action": "dynamodb:*",
          "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/*"}
USES = [use("app", "dynamodb:GetItem", table_arn("notes")),
        use("app", "s3:GetObject", f"{BUCKET}/a.txt"),
        use("app", "s3:PutObject", f"{BUCKET}/b.txt"),
        use("app", "sns:Publish", TOPIC)]  # granted by no statement: missing


def _analysed(tmp_path: Path) -> tuple[dict[str, object], object]:
    analysis = analyse(observation(USES), {"App": _role(tmp_path, FILES, TABLES)},
                       {function_arn("app"): "App"})
    return analysis.proposals["App"], analysis.diffs["App"]


def test_statements_follow_the_declared_statement_each_narrows(tmp_path: Path) -> None:
    proposal, _ = _analysed(tmp_path)
    statements = proposal["Statement"]
    assert isinstance(statements, list)
    # sorted alone, DynamoDB would come first; the declared policy starts with S3, and
    # what no declared statement grants (the missing publish) comes last
    assert [(s.get("Sid"), s["Action"]) for s in statements] == [
        ("Files", ["s3:GetObject", "s3:PutObject"]), ("Tables", "dynamodb:GetItem"),
        (None, "sns:Publish")]
    unordered = propose_policies(USES).document["Statement"]
    assert isinstance(unordered, list)
    assert [s["Action"] for s in unordered] == [
        "dynamodb:GetItem", ["s3:GetObject", "s3:PutObject"], "sns:Publish"]
    assert sorted(json.dumps({k: v for k, v in s.items() if k != "Sid"}) for s in statements
                  ) == sorted(map(json.dumps, unordered))


def test_the_diff_compares_each_declared_statement_with_its_replacement(
        tmp_path: Path) -> None:
    _, diff = _analysed(tmp_path)
    # the S3 statement is unchanged (its actions in another order are no change), the
    # DynamoDB one narrowed, the publish added
    assert diff == {"Statement": {
        "1": {"Action": ["dynamodb:*", "dynamodb:GetItem"],
              "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/*",
                           table_arn("notes")]},
        "$insert": [[2, {"Effect": "Allow", "Action": "sns:Publish", "Resource": TOPIC}]]}}


def test_sids_that_would_pass_the_size_limit_are_left_out(tmp_path: Path) -> None:
    role = _role(tmp_path, FILES, TABLES)
    principals = {function_arn("app"): "App"}
    roomy = analyse(observation(USES), {"App": role}, principals).proposals["App"]
    size = policy_size(roomy)
    tight = analyse(observation(USES), {"App": role}, principals, limit=size - 1)
    statements = tight.proposals["App"]["Statement"]
    assert isinstance(statements, list)
    assert [s["Action"] for s in statements] == [s["Action"] for s in roomy["Statement"]]
    assert not any("Sid" in s for s in statements)


def test_one_sid_per_declared_statement_and_document(tmp_path: Path) -> None:
    # two tables under one declared statement: two statements, one keeps the Sid
    uses = [use("app", "dynamodb:GetItem", table_arn("a")),
            use("app", "dynamodb:PutItem", table_arn("b"))]
    analysis = analyse(observation(uses), {"App": _role(tmp_path, TABLES)},
                       {function_arn("app"): "App"})
    statements = analysis.proposals["App"]["Statement"]
    assert isinstance(statements, list)
    assert [s.get("Sid") for s in statements] == ["Tables", None]


def test_list_order_alone_is_no_change() -> None:
    declared = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "S3:GetObject"],
         "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::a/*"]}]}
    proposed = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["S3:GetObject", "s3:PutObject"],
         "Resource": ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"]}]}
    assert policy_diff(declared, proposed) == {}
    proposed["Statement"][0]["Resource"] = "arn:aws:s3:::a/*"  # type: ignore[index]
    assert policy_diff(declared, proposed) == {"Statement": {"0": {"Resource": [
        ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"], "arn:aws:s3:::a/*"]}}}


def test_not_action_and_not_resource_statements_are_read_as_iam_reads_them(
        tmp_path: Path) -> None:
    # the first statement grants S3 everywhere but on the bucket: the S3 statement
    # narrows the second; the NotAction one grants DynamoDB (everything but IAM)
    elsewhere = {"Sid": "Elsewhere", "Effect": "Allow", "Action": "s3:*",
                 "NotResource": f"{BUCKET}/*"}
    not_iam = {"Sid": "NotIam", "Effect": "Allow", "NotAction": ["iam:*", "s3:*"],
               "Resource": "*"}
    analysis = analyse(observation(USES[:3]),
                       {"App": _role(tmp_path, elsewhere, FILES, not_iam)},
                       {function_arn("app"): "App"})
    statements = analysis.proposals["App"]["Statement"]
    assert isinstance(statements, list)
    assert [(s.get("Sid"), s["Action"]) for s in statements][:2] == [
        ("Files", ["s3:GetObject", "s3:PutObject"]), ("NotIam", "dynamodb:GetItem")]


_PATTERNS = st.sampled_from(["*", f"{BUCKET}/*", "arn:aws:s3:::other/*", table_arn("*"),
                             table_arn("notes"), TOPIC])
_ACTIONS = st.sampled_from(["s3:*", "s3:GetObject", "dynamodb:*", "dynamodb:GetItem",
                            "sns:Publish", "*"])
_DECLARED = st.lists(st.builds(
    lambda sid, effect, action, actions, resource, resources: {
        "Sid": sid, "Effect": effect, action: actions, resource: resources},
    st.sampled_from(["A", "B", "C", "Files"]), st.sampled_from(["Allow", "Deny"]),
    st.sampled_from(["Action", "NotAction"]), st.lists(_ACTIONS, min_size=1, max_size=3),
    st.sampled_from(["Resource", "NotResource"]), st.lists(_PATTERNS, min_size=1, max_size=2)),
    min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(_DECLARED, st.lists(st.sampled_from(USES), min_size=1, max_size=4),
       st.integers(0, 40))
def test_the_layout_only_orders_and_names_statements(
        declared: list[dict[str, object]], uses: list[Access], room: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        role = _role(Path(folder), *declared)
    proposal = propose_policies(uses)
    limit = policy_size(proposal.document) + room  # some Sids fit, some do not
    laid_out = in_declared_order(proposal, role, limit=limit)
    sids = {s.sid for s in role.statements if s.is_allow and s.sid}
    for before, after in zip(proposal.documents, laid_out.documents, strict=True):
        statements = after["Statement"]
        assert isinstance(statements, list)
        named = [s["Sid"] for s in statements if "Sid" in s]
        assert len(named) == len(set(named)) and set(named) <= sids
        if named:
            assert policy_size(after) <= limit
        assert sorted(json.dumps({k: v for k, v in s.items() if k != "Sid"}) for s in statements
                      ) == sorted(map(json.dumps, before["Statement"]))  # type: ignore[call-overload]


def test_a_declared_sid_iam_would_refuse_is_not_written(tmp_path: Path) -> None:
    # "The Sid element supports ASCII uppercase letters (A-Z), lowercase letters (a-z),
    # and numbers (0-9)" (IAM JSON policy elements: Sid): a declared policy not deployed
    # yet may hold others; the proposal must stay a document IAM takes
    files = {**FILES, "Sid": "read-files"}
    guard = {"Sid": "No deletes", "Effect": "Deny", "Action": "s3:DeleteObject",
             "Resource": "*"}
    analysis = analyse(observation(USES[1:3]), {"App": _role(tmp_path, files, guard)},
                       {function_arn("app"): "App"})
    statements = analysis.proposals["App"]["Statement"]
    assert isinstance(statements, list)
    assert [(s.get("Sid"), s["Effect"]) for s in statements] == [
        (None, "Allow"), (None, "Deny")]
