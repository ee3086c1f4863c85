"""``leastpriv-ci explain``: decisions, the statements behind them, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leastpriv_ci.cli import main

DATA = Path(__file__).parent / "data"
POLICY = DATA / "policy"
EXPLAIN = DATA / "explain"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/notes"


def explain(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["explain", *args])
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    code, out, _ = explain(capsys, *args, "--format", "json")
    assert code == 0
    result: dict[str, object] = json.loads(out)
    return result


def test_json_contract_for_an_explicit_deny(capsys: pytest.CaptureFixture[str]) -> None:
    result = as_json(capsys, "--policy", str(POLICY / "shared_role.json"),
                     "--action", "dynamodb:DeleteTable", "--resource", TABLE)
    assert set(result) == {"decision", "statements"}
    assert result["decision"] == "explicit_deny"
    (statement,) = result["statements"]  # type: ignore[misc]
    assert statement["file"] == str(POLICY / "shared_role.json")
    assert statement["line"] == 16
    assert statement["sid"] == "NoTableDeletes"
    assert statement["effect"] == "Deny"
    assert statement["policy"] == "shared_role.json"


def test_allow_lists_every_granting_statement_across_files(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = as_json(capsys, "--policy", str(POLICY / "shared_role.json"),
                     "--policy", str(POLICY / "sam_dynamodb_crud.yaml"),
                     "--action", "dynamodb:getitem", "--resource", TABLE)
    assert result["decision"] == "allow"
    places = [(Path(s["file"]).name, s["line"]) for s in result["statements"]]  # type: ignore[attr-defined, index]
    assert places == [("shared_role.json", 4), ("sam_dynamodb_crud.yaml", 4)]


def test_implicit_deny_has_no_statements(capsys: pytest.CaptureFixture[str]) -> None:
    result = as_json(capsys, "--policy", str(POLICY / "sam_dynamodb_crud.yaml"),
                     "--action", "sqs:SendMessage",
                     "--resource", "arn:aws:sqs:us-east-1:123456789012:q")
    assert result == {"decision": "implicit_deny", "statements": []}


def test_role_file_with_an_undecided_deny_is_conditional(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ("--policy", str(POLICY / "role_with_policies.yaml"),
            "--action", "dynamodb:GetItem", "--resource", TABLE)
    result = as_json(capsys, *args)
    assert result["decision"] == "conditional"
    (statement,) = result["statements"]  # type: ignore[misc]
    assert (statement["sid"], statement["policy"], statement["line"]) == \
        ("OnlyOverTls", "guard", 15)
    settled = as_json(capsys, *args, "--context", '{"aws:SecureTransport": true}')
    assert settled["decision"] == "allow"


def test_context_from_a_file_resolves_policy_variables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ("--policy", str(EXPLAIN / "home_dirs.json"), "--action", "s3:GetObject")
    own = as_json(capsys, *args, "--resource", "arn:aws:s3:::home-bucket/home/bob/a.txt",
                  "--context", f"@{EXPLAIN / 'context.json'}")
    other = as_json(capsys, *args, "--resource", "arn:aws:s3:::home-bucket/home/eve/a.txt",
                    "--context", f"@{EXPLAIN / 'context.json'}")
    unknown = as_json(capsys, *args, "--resource", "arn:aws:s3:::home-bucket/home/bob/a.txt")
    assert (own["decision"], other["decision"], unknown["decision"]) == \
        ("allow", "implicit_deny", "conditional")


def test_boundary_limits_the_identity_policies(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--policy", str(POLICY / "shared_role.json"),
            "--boundary", str(POLICY / "boundary_read_only.json"), "--resource", TABLE)
    read = as_json(capsys, *args, "--action", "dynamodb:GetItem")
    write = as_json(capsys, *args, "--action", "dynamodb:PutItem")
    assert read["decision"] == "allow"
    assert [s["boundary"] for s in read["statements"]] == [False, True]  # type: ignore[attr-defined, index]
    assert write["decision"] == "implicit_deny"


def test_text_output_names_decision_and_file_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = explain(capsys, "--policy", str(POLICY / "shared_role.json"),
                           "--action", "dynamodb:DeleteTable", "--resource", TABLE)
    assert code == 0
    assert out.startswith("explicit_deny: dynamodb:DeleteTable on " + TABLE)
    assert f"{POLICY / 'shared_role.json'}:16  Deny NoTableDeletes" in out


def test_text_output_shows_the_undecided_condition(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = explain(capsys, "--policy", str(POLICY / "role_with_policies.yaml"),
                        "--action", "dynamodb:GetItem", "--resource", TABLE)
    assert out.startswith("conditional:")
    assert '"aws:SecureTransport": "false"' in out


def test_a_boundary_not_known_offline_is_said_so_not_blamed_on_the_context(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # A managed boundary that is not bundled: no context key would decide it
    boundary = "arn:aws:iam::aws:policy/NotBundledBoundary"
    role = tmp_path / "role.json"
    role.write_text(json.dumps({"RoleName": "r", "PermissionsBoundary": boundary, "Policies": [
        {"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}]}))
    _, out, _ = explain(capsys, "--policy", str(role), "--action", "s3:PutObject",
                        "--resource", "arn:aws:s3:::b/k", "--complete-context")
    first, *rest = out.splitlines()
    assert first.startswith("conditional:") and "not known offline" in first
    assert "context does not give" not in out
    assert [line.strip() for line in rest if "not known offline:" in line] == [
        f"not known offline: <unresolved:managed policy {boundary}>"]
    # a condition the context does not decide is still said so
    _, out, _ = explain(capsys, "--policy", str(POLICY / "role_with_policies.yaml"),
                        "--action", "dynamodb:GetItem", "--resource", TABLE)
    assert "depends on values the context does not give" in out


def test_unknown_action_warns_and_still_evaluates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = explain(capsys, "--policy", str(POLICY / "shared_role.json"),
                             "--action", "dynamodb:MakeCoffee", "--resource", TABLE,
                             "--format", "json")
    assert code == 0
    assert "unknown-action" in err and "dynamodb:MakeCoffee" in err
    assert json.loads(out)["decision"] == "allow"  # dynamodb:* covers any name


def test_action_without_resource_type_is_evaluated_on_star(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = explain(capsys, "--policy", str(POLICY / "s3_read_only.json"),
                             "--action", "s3:ListAllMyBuckets", "--resource", "arn:aws:s3:::b",
                             "--format", "json")
    assert code == 0 and "no-resource-type" in err
    assert json.loads(out)["decision"] == "allow"


@pytest.mark.parametrize(("args", "message"), [
    (["--policy", str(EXPLAIN / "bad_effect.json")],
     f"{EXPLAIN / 'bad_effect.json'}:5: policy 'bad_effect.json' statement 2: Effect must be"),
    (["--policy", str(EXPLAIN / "broken.json")], f"{EXPLAIN / 'broken.json'}:4: cannot parse"),
    (["--policy", str(EXPLAIN / "unsafe.yaml")], f"{EXPLAIN / 'unsafe.yaml'}:2: cannot parse"),
    (["--policy", str(EXPLAIN / "missing.json")], "missing.json: cannot read policy file"),
    (["--policy", str(EXPLAIN / "context.json")], "not a policy"),
    (["--policy", str(POLICY / "shared_role.json"), "--context", "{nope"],
     "--context: context is not valid JSON"),
    (["--policy", str(POLICY / "shared_role.json"), "--context", '{"k": {"deep": 1}}'],
     "context key 'k' must be"),
    (["--policy", str(POLICY / "shared_role.json"), "--context", "@/nonexistent/ctx.json"],
     "cannot read the context file"),
])
def test_bad_input_is_one_line_naming_the_place(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str,
) -> None:
    code, out, err = explain(capsys, *args, "--action", "s3:GetObject")
    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("action", "message"), [
    ("GetObject", "service:Action"), ("*", "service:Action"), ("s3:Get*", "name one action"),
])
def test_bad_action_is_an_input_error(
    capsys: pytest.CaptureFixture[str], action: str, message: str,
) -> None:
    code, _, err = explain(capsys, "--policy", str(POLICY / "shared_role.json"),
                           "--action", action)
    assert code == 2 and message in err


def test_process_exit_code_and_no_traceback_on_bad_file() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "leastpriv_ci", "explain", "--policy",
         str(EXPLAIN / "bad_effect.json"), "--action", "s3:GetObject"],
        capture_output=True, text=True, check=False, cwd=Path(__file__).parents[1],
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "Effect must be" in proc.stderr


def test_complete_context_decides_absent_keys(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--policy", str(POLICY / "role_with_policies.yaml"),
            "--action", "dynamodb:GetItem", "--resource", TABLE, "--context", "{}")
    assert as_json(capsys, *args)["decision"] == "conditional"
    # aws:SecureTransport absent from the request: the Bool Deny does not apply
    assert as_json(capsys, *args, "--complete-context")["decision"] == "allow"


@pytest.mark.parametrize(("policy", "absent"), [
    ("mfa_guard.json", "explicit_deny"),  # Null: true on an absent key
    ("region_if_exists.json", "allow"),  # ...IfExists: an absent key passes
    ("tag_keys.json", "allow"),  # ForAllValues: an absent key is true
    ("own_prefix.json", "implicit_deny"),  # ${aws:userid} absent: the pattern matches nothing
])
def test_a_partial_context_leaves_keys_it_lacks_undecided(
    capsys: pytest.CaptureFixture[str], policy: str, absent: str,
) -> None:
    args = ("--policy", str(EXPLAIN / policy), "--action", "s3:GetObject",
            "--resource", "arn:aws:s3:::b/AIDA1/k")
    assert as_json(capsys, *args)["decision"] == "conditional"
    # an unrelated key does not make the context the request's whole context
    partial = (*args, "--context", '{"aws:username": "bob"}')
    assert as_json(capsys, *partial)["decision"] == "conditional"
    assert as_json(capsys, *partial, "--complete-context")["decision"] == absent


def test_absurd_policy_files_are_refused_cleanly(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    huge = tmp_path / "huge.json"
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    huge.write_text(json.dumps({"Version": "2012-10-17", "Statement": [statement] * 100_000}))
    deep = tmp_path / "deep.json"
    deep.write_text('{"Version": "2012-10-17", "Statement": ' + "[" * 200 + "]" * 200 + "}")
    values = tmp_path / "values.yaml"
    values.write_text("Version: '2012-10-17'\nStatement:\n  - Effect: Allow\n"
                      "    Action: s3:GetObject\n    Resource: '*'\n"
                      "    Condition: {StringEquals: {aws:username: {nested: 1}}}\n")
    for path, message in ((huge, "100000 statements, over the limit"),
                          (deep, "nesting deeper than"),
                          (values, "statement 1: Condition StringEquals/aws:username values")):
        code, out, err = explain(capsys, "--policy", str(path), "--action", "s3:GetObject")
        assert code == 2 and out == ""
        assert str(path) in err and message in err


def test_role_file_boundary_applies(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--policy", str(EXPLAIN / "role_with_boundary.json"),
            "--resource", "arn:aws:s3:::notes/k")
    read = as_json(capsys, *args, "--action", "s3:GetObject")
    assert [(s["sid"], s["policy"], s["boundary"]) for s in read["statements"]] == [  # type: ignore[attr-defined, index]
        ("AllS3", "everything-in-s3", False), ("ReadsOnly", "PermissionsBoundary", True)]
    assert as_json(capsys, *args, "--action", "s3:PutObject")["decision"] == "implicit_deny"


def test_text_says_when_the_boundary_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    role = str(POLICY / "bounded_role.json")
    code, out, _ = explain(capsys, "--policy", role, "--action", "s3:ListAllMyBuckets")
    assert code == 0
    assert out.splitlines() == [
        "implicit_deny: s3:ListAllMyBuckets on * is denied (implicitly: the permissions "
        "boundary does not allow it)",
        "no permissions boundary statement allows it"]
    _, out, _ = explain(capsys, "--policy", role, "--action", "dynamodb:ListTables")
    assert out.splitlines()[-1] == "no statement allows it"  # the identity policies refuse


def test_a_bad_boundary_is_exit_2_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    role = json.loads((EXPLAIN / "role_with_boundary.json").read_text())
    role["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy"}
    path = tmp_path / "role.json"
    path.write_text(json.dumps(role))
    code, out, err = explain(capsys, "--policy", str(path), "--action", "s3:GetObject")
    assert code == 2 and out == ""
    assert f"{path}:1: PermissionsBoundary must be a policy ARN" in err
    assert "Traceback" not in err


def test_a_principal_in_the_identity_policy_is_warned_of_naming_the_statement(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # IAM refuses an identity policy naming a principal: it is a resource policy's element
    policy = tmp_path / "bucket.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
         "Action": "dynamodb:GetItem", "Resource": TABLE}]}))
    code, out, err = explain(capsys, "--policy", str(policy), "--action", "dynamodb:GetItem",
                             "--resource", TABLE, "--format", "json")
    assert code == 0 and json.loads(out)["decision"] == "allow"
    assert "principal-in-identity-policy" in err and "MalformedPolicyDocument" in err
    assert "bucket.json" in err and "statement 1 (Read)" in err
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE}]}))
    _, _, err = explain(capsys, "--policy", str(policy), "--action", "dynamodb:GetItem",
                        "--resource", TABLE)
    assert "principal" not in err


BUCKET_POLICY = str(EXPLAIN / "reports_bucket.json")
APP = "arn:aws:iam::123456789012:role/app"
OBJECT = "arn:aws:s3:::reports/2026/11.csv"


def _with_bucket_policy(capsys: pytest.CaptureFixture[str], principal: str, action: str,
                        *args: str) -> dict[str, Any]:
    return as_json(  # type: ignore[return-value]
        capsys, "--policy", str(POLICY / "shared_role.json"), "--resource-policy", BUCKET_POLICY,
        "--principal", principal, "--action", action, "--resource", OBJECT,
        "--context", '{"aws:SecureTransport": true}', *args)


def test_a_resource_policy_naming_the_principal_allows_what_its_roles_do_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    got = _with_bucket_policy(capsys, APP, "s3:GetObject")
    assert got["decision"] == "allow"
    [statement] = got["statements"]
    assert (statement["sid"], statement["resource_policy"], statement["line"]) == (
        "AppReads", True, 4)
    assert "Principal" not in statement["statement"]
    # another role of the account: named by nobody, and its own policies do not allow it
    other = "arn:aws:iam::123456789012:role/other"
    assert _with_bucket_policy(capsys, other, "s3:GetObject")["decision"] == "implicit_deny"


def test_anyone_whose_arn_the_condition_names_is_the_principal_it_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    writer = "arn:aws:iam::123456789012:role/report-writer"
    got = _with_bucket_policy(capsys, writer, "s3:PutObject")
    assert (got["decision"], [s["sid"] for s in got["statements"]]) == (
        "allow", ["ReportWritersWrite"])
    assert _with_bucket_policy(capsys, APP, "s3:PutObject")["decision"] == "implicit_deny"


def test_an_account_named_in_an_allow_delegates_and_in_a_deny_refuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    # the account's root in an Allow hands the decision to the identity policies
    assert _with_bucket_policy(capsys, APP, "s3:DeleteObject")["decision"] == "implicit_deny"
    role = tmp_path / "acls.json"
    role.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:PutObjectAcl", "Resource": "*"}]}))
    got = as_json(capsys, "--policy", str(role), "--resource-policy", BUCKET_POLICY,
                  "--principal", APP, "--action", "s3:PutObjectAcl", "--resource", OBJECT,
                  "--context", '{"aws:SecureTransport": true}')
    assert (got["decision"], [s["sid"] for s in got["statements"]]) == (
        "explicit_deny", ["NoAclsInThisAccount"])


def test_a_resource_policy_s_deny_for_anyone_and_the_context_decide(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ("--policy", str(POLICY / "shared_role.json"), "--resource-policy", BUCKET_POLICY,
            "--principal", APP, "--action", "s3:GetObject", "--resource", OBJECT)
    undecided = as_json(capsys, *args)
    assert undecided["decision"] == "conditional"
    assert [s["sid"] for s in undecided["statements"]] == ["TlsOnly"]  # type: ignore[attr-defined]
    code, out, err = explain(capsys, *args, "--context", '{"aws:SecureTransport": false}')
    assert code == 0 and out.startswith("explicit_deny: s3:GetObject on " + OBJECT)
    assert f"{BUCKET_POLICY}:33  Deny TlsOnly (policy reports_bucket.json) [resource " \
           "policy]" in out
    # the NotPrincipal statement names the role, not a session of it: it is weighed
    assert "not-principal-unread" not in err


def test_a_key_policy_for_the_account_s_callers_is_decided_by_the_principal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    """kms:CallerAccount is the principal's account in a KMS request: a key policy for
    anyone of the account grants the role, and one for another account's does not."""
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    none = tmp_path / "none.json"
    none.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}))

    def decision(account: str) -> object:
        policy = tmp_path / "key.json"
        policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "Callers", "Effect": "Allow", "Principal": {"AWS": "*"},
             "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {"StringEquals": {"kms:CallerAccount": account}}}]}))
        return as_json(capsys, "--policy", str(none), "--resource-policy", str(policy),
                       "--principal", APP, "--action", "kms:Decrypt", "--resource",
                       key)["decision"]

    assert decision("123456789012") == "allow"
    assert decision("999999999999") == "implicit_deny"


def test_a_data_perimeter_is_decided_by_the_principal_and_its_organization(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    """A bucket's perimeter refuses anyone outside the organization but AWS services:
    --principal says the request is no AWS service's (a role's session, a user), so the
    organization given in --context decides it."""
    reader = tmp_path / "reader.json"
    reader.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    perimeter = tmp_path / "perimeter.json"
    perimeter.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Perimeter", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": "arn:aws:s3:::reports/*", "Condition": {
             "StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"},
             "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}},
        {"Sid": "UsersOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::reports/users/*",
         "Condition": {"StringNotEquals": {"aws:PrincipalType": "User"}}}]}))

    def decision(principal: str, org: str, key: str = "a.json") -> object:
        return as_json(capsys, "--policy", str(reader), "--resource-policy", str(perimeter),
                       "--principal", principal, "--action", "s3:GetObject", "--resource",
                       f"arn:aws:s3:::reports/{key}", "--context",
                       json.dumps({"aws:PrincipalOrgID": org}))["decision"]

    assert decision(APP, "o-elsewhere") == "explicit_deny"
    assert decision(APP, "o-a1b2c3d4e5") == "allow"
    # a role's request is an assumed role's, a user's is the user's
    assert decision(APP, "o-a1b2c3d4e5", "users/a.json") == "explicit_deny"
    assert decision("arn:aws:iam::123456789012:user/bob", "o-a1b2c3d4e5",
                    "users/a.json") == "allow"


def test_a_not_principal_excepts_a_role_s_session_only_when_it_names_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    """IAM excepts a role's session from a Deny's NotPrincipal only when the list names
    that session: the role's ARN alone does not, so the bucket's "everyone but the app"
    Deny refuses the app's own sessions. A list naming a session of the role depends on
    the session's name, which the role's ARN does not give: not weighed, and said."""
    reader = tmp_path / "reader.json"
    reader.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Lists", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))
    args = ("--policy", str(reader), "--action", "s3:ListBucket", "--resource",
            "arn:aws:s3:::reports", "--context", '{"aws:SecureTransport": true}')
    code, out, err = explain(capsys, *args, "--resource-policy", BUCKET_POLICY,
                             "--principal", APP)
    assert out.startswith("explicit_deny:") and "OnlyAppLists" in out
    assert "not-principal-unread" not in err
    sessions = tmp_path / "sessions.json"
    sessions.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "OnlyTheAppSession", "Effect": "Deny", "NotPrincipal": {"AWS": [
            "arn:aws:sts::123456789012:assumed-role/app/app-session", APP,
            "arn:aws:iam::123456789012:root"]},
         "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::reports"}]}))
    code, out, err = explain(capsys, *args, "--resource-policy", str(sessions),
                             "--principal", APP)
    assert code == 0 and out.startswith("allow:")
    assert "not-principal-unread" in err and f"{sessions}:1" in err
    # another role's session does not except this one: the Deny refuses it
    other = "arn:aws:iam::123456789012:role/path/reports"
    assert as_json(capsys, *args, "--resource-policy", str(sessions), "--principal",
                   other)["decision"] == "explicit_deny"


def test_a_role_s_session_named_by_its_arn_is_the_role_s_and_its_own(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    """The ARN an access-denied message names (a role's session) is a --principal: a
    statement naming the role (under any path) takes it in, a NotPrincipal naming the
    session with its role and account excepts it, and aws:PrincipalArn, the role's ARN
    whose path the session's does not give, is left to --context."""
    session = "arn:aws:sts::123456789012:assumed-role/app/i-0abc"
    reader = tmp_path / "reader.json"
    reader.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}))
    queue = "arn:aws:sqs:us-east-1:123456789012:jobs"
    policy = tmp_path / "queue.json"

    def decision(*statements: dict[str, object], context: str = "{}") -> tuple[str, str]:
        policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
            {"Action": "sqs:ReceiveMessage", "Resource": queue, **s} for s in statements]}))
        code, out, err = explain(capsys, "--policy", str(reader), "--resource-policy",
                                 str(policy), "--principal", session, "--action",
                                 "sqs:ReceiveMessage", "--resource", queue, "--context",
                                 context, "--format", "json")
        assert code == 0, err
        return json.loads(out)["decision"], "unread" if "not-principal-unread" in err else ""

    role = "arn:aws:iam::123456789012:role/service/app"
    assert decision({"Effect": "Allow", "Principal": {"AWS": role}}) == ("allow", "")
    assert decision({"Effect": "Allow", "Principal": {"AWS": session}}) == ("allow", "")
    assert decision({"Effect": "Allow", "Principal": {
        "AWS": "arn:aws:iam::123456789012:role/other"}}) == ("implicit_deny", "")
    everyone = {"Effect": "Allow", "Principal": "*"}
    but = {"Effect": "Deny", "NotPrincipal": {"AWS": [session, role,
                                                      "arn:aws:iam::123456789012:root"]}}
    assert decision(everyone, but) == ("allow", "")
    # the session without its role: IAM may deny the role first
    assert decision(everyone, {**but, "NotPrincipal": {"AWS": session}}) == (
        "allow", "unread")
    # another session of the role: refused
    assert decision(everyone, {**but, "NotPrincipal": {"AWS": [
        "arn:aws:sts::123456789012:assumed-role/app/other", role]}}) == ("explicit_deny", "")
    # aws:PrincipalArn: undecided from the session's ARN, decided by --context
    by_arn = {"Effect": "Allow", "Principal": "*", "Condition": {
        "ArnEquals": {"aws:PrincipalArn": role}}}
    assert decision(by_arn) == ("conditional", "")
    assert decision(by_arn, context=json.dumps({"aws:PrincipalArn": role})) == ("allow", "")
    # asked for the role, a statement naming one of its sessions is not weighed, and said
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": session}, "Action": "sqs:ReceiveMessage",
         "Resource": queue}]}))
    code, out, err = explain(capsys, "--policy", str(reader), "--resource-policy", str(policy),
                             "--principal", "arn:aws:iam::123456789012:role/app", "--action",
                             "sqs:ReceiveMessage", "--resource", queue, "--format", "json")
    assert code == 0 and json.loads(out)["decision"] == "implicit_deny"
    assert "session-principal-unread" in err and "assumed-role/ROLE/SESSION" in err


def test_a_not_principal_excepts_a_user_named_with_its_account(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    """A user is excepted when the list names it and its account; named without its
    account, IAM may deny the account first (not weighed); not named, it is refused. An
    Allow for everyone but another account's principals grants it."""
    user = "arn:aws:iam::123456789012:user/ops/bob"
    reader = tmp_path / "reader.json"
    reader.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))
    bucket = tmp_path / "bucket.json"

    def decided(not_principal: object, effect: str = "Deny") -> tuple[str, str]:
        bucket.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": effect, "NotPrincipal": not_principal, "Action": "s3:ListBucket",
             "Resource": "arn:aws:s3:::reports"}]}))
        policy = str(reader) if effect == "Deny" else str(tmp_path / "none.json")
        code, out, err = explain(capsys, "--policy", policy, "--resource-policy",
                                 str(bucket), "--principal", user, "--action",
                                 "s3:ListBucket", "--resource", "arn:aws:s3:::reports",
                                 "--format", "json")
        assert code == 0
        return json.loads(out)["decision"], "not-principal-unread" if (
            "not-principal-unread" in err) else ""

    (tmp_path / "none.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}))
    assert decided({"AWS": [user, "arn:aws:iam::123456789012:root"]}) == ("allow", "")
    assert decided({"AWS": [user, "123456789012"]}) == ("allow", "")
    assert decided({"AWS": user}) == ("allow", "not-principal-unread")
    assert decided({"AWS": "arn:aws:iam::123456789012:user/alice"}) == ("explicit_deny", "")
    assert decided({"AWS": "*"}) == ("allow", "")  # everyone excepted: no one refused
    assert decided({"AWS": "arn:aws:iam::999999999999:root"}, "Allow") == ("allow", "")
    assert decided({"AWS": "arn:aws:iam::123456789012:root"}, "Allow") == (
        "implicit_deny", "not-principal-unread")


def test_the_boundary_bounds_what_a_policy_naming_the_role_grants(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ("--policy", str(POLICY / "shared_role.json"), "--boundary",
            str(POLICY / "boundary_read_only.json"), "--resource-policy", BUCKET_POLICY,
            "--principal", "arn:aws:iam::123456789012:role/report-writer", "--action",
            "s3:PutObject", "--resource", OBJECT, "--context", '{"aws:SecureTransport": true}')
    _, out, _ = explain(capsys, *args)
    assert out.startswith("implicit_deny:") and "the permissions boundary" in out
    assert out.rstrip().endswith("no permissions boundary statement allows it")


def test_a_grant_to_the_user_or_session_itself_is_not_bounded_by_the_boundary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    """In the account, a resource policy naming a user, or a role's session, by its own
    ARN grants past an implicit deny in its permissions boundary; one naming the role's
    ARN does not, and a Deny in the boundary refuses either. A Deny with a NotPrincipal
    always refuses a principal with a boundary, whatever its list names."""
    user = "arn:aws:iam::123456789012:user/bob"
    session = "arn:aws:sts::123456789012:assumed-role/app/i-0abc"
    bucket = tmp_path / "bucket.json"
    none = tmp_path / "none.json"
    none.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}))
    boundary = tmp_path / "boundary.json"

    def decision(principal: str, named: str, *extra: dict[str, object],
                 bound: list[dict[str, object]] | None = None) -> object:
        bucket.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": named}, "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::reports/*"}, *extra]}))
        boundary.write_text(json.dumps({"Version": "2012-10-17", "Statement": bound or [
            {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}))
        return as_json(capsys, "--policy", str(none), "--boundary", str(boundary),
                       "--resource-policy", str(bucket), "--principal", principal,
                       "--action", "s3:GetObject", "--resource", OBJECT)["decision"]

    assert decision(user, user) == "allow"
    assert decision(session, session) == "allow"
    assert decision(session, "arn:aws:iam::123456789012:role/app") == "implicit_deny"
    assert decision(APP, APP) == "implicit_deny"
    # a Deny in the boundary refuses what the user is granted itself
    assert decision(user, user, bound=[
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]) == "explicit_deny"
    # "everyone but bob and his account" refuses bob too, once he has a boundary
    everyone_but = {"Effect": "Deny", "NotPrincipal": {"AWS": [
        user, "arn:aws:iam::123456789012:root"]}, "Action": "s3:*", "Resource": "*"}
    assert decision(user, user, everyone_but) == "explicit_deny"


def test_another_account_s_resource_needs_both_policies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    queue = "arn:aws:sqs:us-east-1:999999999999:jobs"
    role = tmp_path / "role.json"
    role.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Sends", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue}]}))
    grants = tmp_path / "queue.json"
    grants.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "AppReceives", "Effect": "Allow", "Principal": {"AWS": APP},
         "Action": ["sqs:ReceiveMessage", "sqs:SendMessage"], "Resource": queue,
         "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}}]}))
    args = ("--policy", str(role), "--resource-policy", str(grants), "--principal", APP,
            "--resource", queue)
    send = as_json(capsys, *args, "--action", "sqs:SendMessage")
    assert (send["decision"], [s["sid"] for s in send["statements"]]) == (  # type: ignore[attr-defined]
        "allow", ["Sends", "AppReceives"])
    _, out, _ = explain(capsys, *args, "--action", "sqs:ReceiveMessage")
    assert "the resource is another account's, and the identity policies do not" in out
    grants.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/x"},
         "Action": "sqs:SendMessage", "Resource": queue}]}))
    _, out, _ = explain(capsys, *args, "--action", "sqs:SendMessage")
    assert out.startswith("implicit_deny:") and "its policy does not allow it" in out
    assert out.rstrip().endswith("no statement of the resource policy allows it")


@pytest.mark.parametrize("answer", [
    lambda text: {"Policy": text},  # s3api get-bucket-policy, kms get-key-policy
    lambda text: {"Policy": text, "RevisionId": "1a2b"},  # lambda get-policy
    lambda text: {"Attributes": {"Policy": text}},  # sqs get-queue-attributes
    lambda text: {"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
                  "Name": "x", "ResourcePolicy": text},  # secretsmanager get-resource-policy
])
def test_the_aws_cli_s_answer_holding_the_policy_is_read_as_the_policy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, answer: Any,
) -> None:
    """What ``aws ... get-*-policy`` prints can be saved and given as it is."""
    saved = tmp_path / "answer.json"
    saved.write_text(json.dumps(answer(Path(BUCKET_POLICY).read_text())))
    got = as_json(capsys, "--policy", str(POLICY / "shared_role.json"), "--resource-policy",
                  str(saved), "--principal", APP, "--action", "s3:GetObject", "--resource",
                  OBJECT, "--context", '{"aws:SecureTransport": true}')
    assert (got["decision"], [s["sid"] for s in got["statements"]]) == ("allow", ["AppReads"])
    saved.write_text(json.dumps({"Policy": "{not json"}))
    code, out, err = explain(capsys, "--policy", str(POLICY / "shared_role.json"),
                             "--resource-policy", str(saved), "--principal", APP,
                             "--action", "s3:GetObject", "--resource", OBJECT)
    assert code == 2 and out == "" and "Traceback" not in err
    assert f"{saved}: Policy" in err and "not JSON" in err


@pytest.mark.parametrize(("args", "message"), [
    (("--resource-policy", BUCKET_POLICY), "--resource-policy needs --principal"),
    (("--resource-policy", BUCKET_POLICY, "--principal", "app"),
     "--principal 'app' must be the ARN of the IAM role or user"),
    (("--resource-policy", str(POLICY / "role_with_policies.yaml"), "--principal", APP),
     "not a resource-based policy: expected a Statement key"),
])
def test_a_resource_policy_without_its_principal_is_an_input_error(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str,
) -> None:
    code, out, err = explain(capsys, "--policy", str(POLICY / "shared_role.json"),
                             "--action", "s3:GetObject", "--resource", OBJECT, *args)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err
