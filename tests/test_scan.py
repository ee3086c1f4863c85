"""End-to-end offline scan: the shared real trace, a role file, the config file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from leastpriv_ci.cli import main
from tests.conftest import REAL_TRACE
from tests.partial_role_case import write_partial_role_case

DATA = Path(__file__).parent / "data" / "scan"
TRACE = REAL_TRACE
ROLE = "arn:aws:iam::112233445566:role/hello-role"
TABLE = "arn:aws:dynamodb:us-east-1:112233445566:table/gen-docs"
OBJECTS = "arn:aws:s3:::xray-test-demo-test-bucket/*"
QUEUE = "arn:aws:sqs:us-east-1:112233445566:hello-events"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout holding the role file and the config; AWS sessions are forbidden."""
    shutil.copy(DATA / "role.json", tmp_path / "role.json")
    shutil.copy(DATA / "leastpriv.yml", tmp_path / ".leastpriv.yml")
    monkeypatch.chdir(tmp_path)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)

    def no_session(*args: object, **kwargs: object) -> None:
        raise AssertionError("an offline scan created an AWS session")

    monkeypatch.setattr("boto3.session.Session.__init__", no_session)
    return tmp_path


def _scan(*extra: str) -> int:
    return main(["scan", "--traces", str(TRACE), "--policy-paths", "role.json", *extra])


def test_offline_scan_finds_exact_findings_and_fails(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _scan("--format", "json", "--report-file", "out/report.json")
    out, err = capsys.readouterr()
    assert code == 1
    report = json.loads(out)
    assert report["schema"] == 1 and report["verdict"] == "fail"
    found = {(f["kind"], f["action"], f["resource"], f["origin"]["line"] if f["origin"] else None)
             for f in report["findings"]}
    assert found == {
        ("missing", "dynamodb:DeleteItem", TABLE, 1),  # no statement: the role itself
        ("excess", "dynamodb:UpdateItem", TABLE, 22),
        ("excess", "sqs:SendMessage", QUEUE, 29),
    }
    # one object at the bucket's root was used: keys are data written at run time, so
    # the bucket-wide object pattern is what that use needs, not excess
    assert not any(f["resource"] == OBJECTS for f in report["findings"])
    assert all(f["role"] == ROLE for f in report["findings"])
    design_keys = {"kind", "role", "principals", "action", "resource", "access_level",
                   "severity", "origin"}
    assert all(design_keys <= set(f) for f in report["findings"])
    assert {"schema", "verdict", "findings", "proposals", "coverage", "warnings"} <= set(report)
    assert any(w["code"] == "unknown-resource" for w in report["warnings"])
    first = next(f for f in report["findings"] if f["action"] == "sqs:SendMessage")
    assert first["origin"]["file"] == "role.json"
    assert first["principals"] == [
        "arn:aws:lambda:us-east-1:112233445566:function:nodejs-test-dev-hello"]
    assert report["counts"]["missing"] == 1 and report["counts"]["excess"] == 2
    assert set(report["proposals"]) == {ROLE}
    assert report["coverage"]["traces"] == 1
    assert report["coverage"]["policy_files"] == ["role.json"]
    # the report file is written even though the gate failed, and matches stdout
    assert json.loads((repo / "out" / "report.json").read_text()) == report
    # reasons come last, on stderr, missing before excess
    lines = err.strip().splitlines()
    assert lines[-1] == "The gate failed."
    assert lines[0].startswith("1 missing finding(s)")
    assert lines[1].startswith("2 excess finding(s)")


def test_ignore_rules_and_thresholds_from_config_and_flags(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".leastpriv.yml").write_text(
        (DATA / "leastpriv.yml").read_text()
        + "ignore:\n  - action: 'dynamodb:DeleteItem'\n    reason: cleanup, added next PR\n"
        + "max-excess: 10\n"
    )
    code = _scan("--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["verdict"] == "pass"
    ignored = [f for f in report["findings"] if f.get("ignored")]
    assert [(f["action"], f["ignored"]) for f in ignored] == [
        ("dynamodb:DeleteItem", "cleanup, added next PR")]
    # a flag beats the file
    assert _scan("--max-excess", "1", "--format", "json") == 1


def test_sarif_and_markdown_outputs(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _scan("--format", "markdown", "--sarif-file", "leastpriv.sarif") == 1
    body = capsys.readouterr().out
    assert body.startswith("### leastpriv-ci: ❌ fail")
    assert "`dynamodb:DeleteItem`" in body
    log = json.loads((repo / "leastpriv.sarif").read_text())
    results = log["runs"][0]["results"]
    assert len(results) == 3
    located = [r for r in results if "locations" in r]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in located} == {"role.json"}


def test_baseline_passes_when_nothing_new(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _scan("--report-file", "base.json", "--format", "json")
    capsys.readouterr()
    code = _scan("--baseline", "base.json", "--fail-on", "excess", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert all(f.get("baseline") for f in report["findings"] if f["kind"] == "excess")


def test_region_and_account_are_inferred_from_the_traces(repo: Path) -> None:
    from leastpriv_ci.commands.scan import infer_location
    from leastpriv_ci.notices import Notices
    from leastpriv_ci.traces.files import iter_files
    from leastpriv_ci.usage import observe

    notices = Notices()
    observation = observe(iter_files([TRACE], notices), notices=notices)
    assert infer_location(observation) == ("us-east-1", "112233445566", "aws")


def test_bad_config_is_exit_2_with_key_and_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / ".leastpriv.yml").write_text("max-excess: -1\n")
    assert _scan() == 2
    err = capsys.readouterr().err
    assert ".leastpriv.yml:1: max-excess: -1 is less than the minimum of 0" in err
    assert "Traceback" not in err


def test_offline_a_role_to_assume_is_noted_as_unused_not_assumed(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The repo fixture fails the test if any AWS session is created.
    assert _scan("--role-to-assume", "arn:aws:iam::112233445566:role/gate",
                 "--role-duration-seconds", "900") == 1  # the gate, as without it
    err = capsys.readouterr().err
    [note] = [line for line in err.splitlines() if line.startswith("leastpriv-ci: note:")]
    assert note == ("leastpriv-ci: note: --role-to-assume is not assumed: with --traces and "
                    "--compare declared nothing reads from AWS (--role-duration-seconds, "
                    "--role-session-name, --audience and --allowed-account-ids are unused "
                    "too)")  # the action's own words: tests/test_entrypoint.py
    assert "error" not in err
    assert _scan() == 1
    assert "note:" not in capsys.readouterr().err  # no role, nothing to say
    # X-Ray's endpoint is not used either when the traces come from files
    assert _scan("--endpoint-url", "https://xray.vpce.example") == 1
    [note] = [line for line in capsys.readouterr().err.splitlines() if "note:" in line]
    assert note == ("leastpriv-ci: note: --endpoint-url is not used: it is X-Ray's, and the "
                    "traces come from --traces")


def test_a_bug_is_exit_4_with_the_traceback_and_where_to_report_it(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise IndexError("tuple index out of range")

    monkeypatch.setattr("leastpriv_ci.commands.scan.build_report", broken)
    assert _scan() == 4
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("leastpriv-ci: internal error (a bug in leastpriv-ci ")
    assert "IndexError: tuple index out of range" in err.splitlines()[0]
    assert "/issues" in err.splitlines()[0]
    assert "Traceback (most recent call last):" in err and "in broken" in err
    assert "4  internal error" in _help()  # the --help epilog


def _help() -> str:
    from leastpriv_ci.cli import build_parser

    return build_parser().format_help()


def test_github_actions_mode_writes_outputs_summary_and_annotations(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs, step_summary = repo / "output.txt", repo / "summary.md"
    outputs.touch()
    step_summary.touch()
    event = repo / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.delenv("LEASTPRIV_GITHUB_TOKEN", raising=False)
    code = main(["scan", "--github-actions", "--trace-files", str(TRACE),
                 "--policy-paths", "role.json", "--comment", "update"])
    out = capsys.readouterr().out
    assert code == 1
    written = outputs.read_text()
    for line in ("verdict", "fail", "excess-count", "6", "missing-count", "1",
                 "report-file", "leastpriv-report.json", "policy-file"):
        assert line in written
    assert (repo / "leastpriv-report.json").is_file()
    policies = json.loads((repo / "leastpriv-policy.json").read_text())
    assert set(policies) == {ROLE}
    assert step_summary.read_text().startswith("### leastpriv-ci: ❌ fail")
    # the missing permission has no statement: it is annotated on the role's declaration
    assert "::error file=role.json,line=1,title=Missing permission" in out
    assert "::warning file=role.json,line=29" in out
    # the printed report and the reasons sit inside a stop-commands block, reasons last
    token = out.split("::stop-commands::", 1)[1].splitlines()[0]
    inside = out.split(f"::stop-commands::{token}\n", 1)[1].split(f"::{token}::", 1)[0]
    assert "dynamodb:DeleteItem" in inside
    assert inside.rstrip().endswith("The gate failed.")


def test_base_ref_reports_what_the_pull_request_adds(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess

    role = json.loads((repo / "role.json").read_text())
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    base = {**role, "Policies": [{**role["Policies"][0], "PolicyDocument": {
        "Version": "2012-10-17", "Statement": statements[:3]}}]}
    head_text = (repo / "role.json").read_text()
    (repo / "role.json").write_text(json.dumps(base, indent=2))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "role.json"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    (repo / "role.json").write_text(head_text)  # the pull request adds the Queue statement

    assert _scan("--base-ref", "HEAD", "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    change = report["changes"][ROLE]
    assert change["status"] == "changed"
    assert [a["statement"]["Action"] for a in change["added"]] == ["sqs:SendMessage"]
    assert change["removed"] == []
    _scan("--base-ref", "HEAD", "--format", "markdown")
    body = capsys.readouterr().out
    assert "IAM changes in this pull request (1 role(s))" in body
    assert "- Allow `sqs:SendMessage` on `arn:aws:sqs:us-east-1:112233445566:hello-events` at " \
        "role\\.json\\:29" in body


def _commit_base(repo: Path) -> None:
    import subprocess

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)


def test_base_ref_names_the_pull_request_s_changes_to_its_own_gate(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pull request that turns its own failing gate off is told apart in the report."""
    _commit_base(repo)  # the base: the default gate (missing and denied fail)
    config = (repo / ".leastpriv.yml").read_text()
    (repo / ".leastpriv.yml").write_text(
        config + "fail-on: none\nignore:\n  - action: 'dynamodb:*'\n    reason: later\n")

    assert _scan("--base-ref", "HEAD", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    review = report["gate_changes"]
    assert review["config_file"] == ".leastpriv.yml"
    assert review["changes"] == [
        {"setting": "fail-on", "base": "denied,missing", "head": "none"},
        {"setting": "ignore", "base": "0 rules",
         "head": "1 rule, new: .leastpriv.yml:5 (action dynamodb:*, resource *)"},
    ]
    assert review["base_verdict"] == "fail"
    assert "dynamodb:DeleteItem" in review["base_reasons"][0]
    warning = next(w for w in report["warnings"] if w["code"] == "gate-changed")
    assert "the base commit's settings fail this check" in warning["message"]

    assert _scan("--base-ref", "HEAD", "--format", "markdown") == 0
    body = capsys.readouterr().out
    assert "⚠️ **This pull request changes the settings that gate it**, in " \
        "`.leastpriv.yml`:\n- fail\\-on: `denied,missing` → `none`\n" in body
    assert "With the base commit's settings this check **fails**: " in body


def test_base_ref_without_gate_changes_says_nothing_of_the_gate(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Moving a rule, or rewording its reason, changes no verdict: no gate section."""
    (repo / ".leastpriv.yml").write_text(
        (repo / ".leastpriv.yml").read_text()
        + "ignore:\n  - action: 'sqs:*'\n    reason: old words\n")
    _commit_base(repo)
    (repo / ".leastpriv.yml").write_text(
        "# a comment moves every line\n" + (repo / ".leastpriv.yml").read_text()
        .replace("old words", "new words"))

    assert _scan("--base-ref", "HEAD", "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    assert "gate_changes" not in report
    assert not any(w["code"] == "gate-changed" for w in report["warnings"])


def test_a_base_without_the_config_file_compares_with_the_defaults(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = (repo / ".leastpriv.yml").read_text()
    (repo / ".leastpriv.yml").unlink()
    _commit_base(repo)
    (repo / ".leastpriv.yml").write_text(config + "min-severity: critical\n")

    _scan("--base-ref", "HEAD", "--format", "json")
    review = json.loads(capsys.readouterr().out)["gate_changes"]
    assert review["changes"] == [{"setting": "min-severity", "base": "low", "head": "critical"}]


def test_a_pull_request_that_fills_the_baseline_file_changes_its_gate(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The baseline report is pull-request text as the config file is: one that adds the
    new excess findings to it passes a check the base's baseline fails."""
    (repo / ".leastpriv.yml").write_text((repo / ".leastpriv.yml").read_text()
                                         + "fail-on: excess\nbaseline: baseline.json\n")
    (repo / "baseline.json").write_text('{"schema": 1, "findings": []}\n')
    _commit_base(repo)
    assert _scan("--format", "json", "--report-file", "report.json") == 1
    capsys.readouterr()
    (repo / "report.json").rename(repo / "baseline.json")  # every finding accepted

    assert _scan("--base-ref", "HEAD", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    review = report["gate_changes"]
    [change] = review["changes"]
    assert change["setting"] == "baseline"
    assert change["base"] == "baseline.json: 0 findings"
    assert change["head"].startswith("baseline.json: ") and change["head"].endswith(" new")
    assert review["base_verdict"] == "fail"
    warning = next(w for w in report["warnings"] if w["code"] == "gate-changed")
    assert "the base commit's settings fail this check" in warning["message"]


def test_a_broken_config_file_at_the_base_is_a_warning_not_a_stop(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pull request that mends a broken config file must be able to pass its gate."""
    config = (repo / ".leastpriv.yml").read_text()
    (repo / ".leastpriv.yml").write_text("fail-on: [\n")
    _commit_base(repo)
    (repo / ".leastpriv.yml").write_text(config)

    assert _scan("--base-ref", "HEAD", "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    assert "gate_changes" not in report
    warning = next(w for w in report["warnings"] if w["code"] == "base-config-unreadable")
    assert ".leastpriv.yml at HEAD" in warning["examples"][0]


def test_a_config_file_that_is_a_link_at_the_base_is_unreadable_not_absent(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Links are not followed at the base; the defaults are not its settings either."""
    config = (repo / ".leastpriv.yml").read_text() + "min-severity: critical\n"
    (repo / "shared.yml").write_text(config)
    (repo / ".leastpriv.yml").unlink()
    (repo / ".leastpriv.yml").symlink_to("shared.yml")
    _commit_base(repo)
    (repo / ".leastpriv.yml").unlink()
    (repo / ".leastpriv.yml").write_text(config)  # the same settings, as a file

    _scan("--base-ref", "HEAD", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert "gate_changes" not in report
    assert not any(w["code"] == "gate-changed" for w in report["warnings"])
    warning = next(w for w in report["warnings"] if w["code"] == "base-config-unreadable")
    assert warning["examples"][0].startswith(".leastpriv.yml at HEAD: is a symbolic link "
                                             "there, not a file")


def test_a_baseline_report_that_is_a_link_at_the_base_is_unreadable_not_empty(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty baseline at the base would make the base fail and name a change that
    the pull request does not make."""
    (repo / ".leastpriv.yml").write_text((repo / ".leastpriv.yml").read_text()
                                         + "fail-on: excess\nbaseline: baseline.json\n")
    (repo / "baseline.json").write_text('{"schema": 1, "findings": []}\n')
    assert _scan("--format", "json", "--report-file", "accepted.json") == 1
    capsys.readouterr()
    (repo / "baseline.json").unlink()
    (repo / "baseline.json").symlink_to("accepted.json")  # every finding accepted
    _commit_base(repo)
    (repo / "baseline.json").unlink()
    shutil.copy(repo / "accepted.json", repo / "baseline.json")  # the same, as a file

    assert _scan("--base-ref", "HEAD", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert "gate_changes" not in report
    assert not any(w["code"] == "gate-changed" for w in report["warnings"])
    warning = next(w for w in report["warnings"] if w["code"] == "base-config-unreadable")
    assert warning["examples"][0].startswith("baseline.json at HEAD: is a symbolic link")


def _tabbed_json(fail_on: str, extra: str = "") -> str:
    return ('{\n\t"principals": {\n\t\t"nodejs-test-dev-hello": '
            f'"arn:aws:iam::112233445566:role/hello-role"\n\t}},\n\t"fail-on": "{fail_on}"'
            f'{extra}\n}}\n')


def test_a_json_config_at_the_base_is_read_as_json(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The base's file is named "PATH at REF" in messages; its format is its own name's."""
    (repo / ".leastpriv.yml").unlink()
    (repo / "gate.json").write_text(_tabbed_json("missing,denied"))  # tabs: not YAML
    _commit_base(repo)
    (repo / "gate.json").write_text(_tabbed_json("none"))

    assert _scan("--config-file", "gate.json", "--base-ref", "HEAD", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert not any(w["code"] == "base-config-unreadable" for w in report["warnings"])
    assert report["gate_changes"]["changes"] == [
        {"setting": "fail-on", "base": "denied,missing", "head": "none"}]
    assert report["gate_changes"]["base_verdict"] == "fail"


def test_a_json_config_error_at_the_base_names_its_line_at_the_base(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "gate.json").write_text(_tabbed_json("missing", ',\n\t"fial-on": "x"'))
    _commit_base(repo)
    (repo / "gate.json").write_text(_tabbed_json("missing"))

    _scan("--config-file", "gate.json", "--base-ref", "HEAD", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    warning = next(w for w in report["warnings"] if w["code"] == "base-config-unreadable")
    assert "gate.json at HEAD:6: fial-on: unknown key" in warning["examples"][0]


@pytest.mark.slow
def test_attached_mode_reads_the_role_from_iam(
    tmp_path: Path, aws, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    """compare attached: the role's inline policy comes from moto's IAM over HTTP."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.chdir(tmp_path)
    moto_role = f"arn:aws:iam::{aws.account}:role/hello-role"
    (tmp_path / ".leastpriv.yml").write_text(
        f"principals:\n  nodejs-test-dev-hello: {moto_role}\n")
    iam = aws.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="hello-role", AssumeRolePolicyDocument=json.dumps(trust))
    role = json.loads((DATA / "role.json").read_text())
    iam.put_role_policy(RoleName="hello-role", PolicyName="hello-app",
                        PolicyDocument=json.dumps(role["Policies"][0]["PolicyDocument"]))
    code = main(["scan", "--traces", str(TRACE), "--compare", "attached", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    found = {(f["kind"], f["action"]) for f in report["findings"] if f["role"] == moto_role}
    assert ("missing", "dynamodb:DeleteItem") in found
    assert ("excess", "sqs:SendMessage") in found
    attached = next(f for f in report["findings"] if f["action"] == "sqs:SendMessage")
    assert attached["origin"]["policy_name"] == "hello-app"


@pytest.mark.slow
def test_attached_mode_judges_an_ec2_segment_as_its_account_profile_s_role(
    tmp_path: Path, aws, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The principal map names an instance profile no file declares: the account's
    profile (moto's IAM over HTTP) gives the role, and that role's policies judge it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.chdir(tmp_path)
    iam = aws.client("iam")
    _ec2_role(aws, "web-role")
    table = f"arn:aws:dynamodb:us-east-1:{aws.account}:table/orders"
    iam.put_role_policy(RoleName="web-role", PolicyName="orders", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
            "dynamodb:GetItem", "dynamodb:PutItem"], "Resource": table}]}))
    iam.create_instance_profile(InstanceProfileName="web-profile", Path="/app/")
    iam.add_role_to_instance_profile(InstanceProfileName="web-profile", RoleName="web-role")
    document = {"id": "e" * 16, "name": "orders-api", "start_time": 1.7e9,
                "end_time": 1.7e9 + 1, "origin": "AWS::EC2::Instance",
                "subsegments": [{
                    "id": "f" * 16, "name": "DynamoDB", "start_time": 1.7e9, "namespace": "aws",
                    "aws": {"operation": "GetItem", "region": "us-east-1",
                            "table_name": "orders", "account_id": aws.account}}]}
    (tmp_path / "traces.json").write_text(json.dumps({"Traces": [_segment_trace(document, 1)]}))
    (tmp_path / ".leastpriv.yml").write_text(
        f"principals:\n  orders-api: arn:aws:iam::{aws.account}:instance-profile/web-profile\n")
    code = main(["scan", "--traces", "traces.json", "--compare", "attached",
                 "--fail-on", "excess", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(f["kind"], f["role"], f["action"], f["resource"]) for f in report["findings"]] == [
        ("excess", f"arn:aws:iam::{aws.account}:role/web-role", "dynamodb:PutItem", table)]
    assert report["coverage"]["unmapped"] == []


@pytest.mark.slow
def test_attached_mode_points_a_denial_at_the_bucket_policy_s_deny(
    tmp_path: Path, aws, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The role's own policy allows the upload, which was denied at staging: the bucket's
    policy (moto's S3) refuses it to everyone but the admin roles. That Deny is the
    denied finding's origin; a denied read it does not cover was refused elsewhere."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.chdir(tmp_path)
    role = f"arn:aws:iam::{aws.account}:role/web-role"
    _ec2_role(aws, "web-role")
    aws.client("iam").put_role_policy(
        RoleName="web-role", PolicyName="uploads", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                    "Resource": "arn:aws:s3:::uploads/*"}]}))
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="uploads")
    s3.put_bucket_policy(Bucket="uploads", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "AdminsWrite", "Effect": "Deny", "Principal": "*",
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::uploads/*",
            "Condition": {"StringNotLike": {
                "aws:PrincipalArn": f"arn:aws:iam::{aws.account}:role/admin-*"}}}, {
            # "everyone but the web role": its ARN alone excepts none of its sessions
            "Sid": "OnlyWebDeletes", "Effect": "Deny", "NotPrincipal": {"AWS": [
                role, aws.account]},
            "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::uploads/*"}]}))
    refused = {"exceptions": [{"type": "ClientError", "message": (
        "An error occurred (AccessDenied) when calling the operation: Access Denied")}]}
    document = {"id": "e" * 16, "name": "orders-api", "start_time": 1.7e9,
                "end_time": 1.7e9 + 1, "origin": "AWS::EC2::Instance", "subsegments": [
                    {"id": f"{n:016x}", "name": "S3", "start_time": 1.7e9, "error": True,
                     "end_time": 1.7e9 + 0.1, "namespace": "aws", "cause": refused,
                     "aws": {"operation": operation, "region": aws.region,
                             "bucket_name": "uploads", "key": key}}
                    for n, (operation, key) in enumerate(
                        [("PutObject", "a.json"), ("GetObject", "b.json"),
                         ("DeleteObject", "c.json")], 1)]}
    (tmp_path / "traces.json").write_text(json.dumps({"Traces": [_segment_trace(document, 1)]}))
    (tmp_path / ".leastpriv.yml").write_text(f"principals:\n  orders-api: {role}\n")

    main(["scan", "--traces", "traces.json", "--compare", "attached", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    denied = {f["action"]: f for f in report["findings"] if f["kind"] == "denied"}
    put, get = denied["s3:PutObject"], denied["s3:GetObject"]
    assert (put["decision"], put["statement"], put["origin"]["policy_arn"]) == (
        "resource_deny", "AdminsWrite", "arn:aws:s3:::uploads")
    assert "a Deny statement of the resource's policy forbids it" in put["message"]
    assert get["decision"] == "allow"
    delete = denied["s3:DeleteObject"]
    assert (delete["decision"], delete["statement"]) == ("resource_deny", "OnlyWebDeletes")


@pytest.mark.slow
def test_attached_mode_reads_the_policies_of_resources_used_without_a_grant(
    tmp_path: Path, aws, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A use the role's own policies do not allow, that the table's policy (moto's
    DynamoDB) grants the role, is missing "by resource policy" and does not fail the
    gate; a bucket whose policy names another role leaves its use missing, until the
    bucket's policy names the role too."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.chdir(tmp_path)
    role = f"arn:aws:iam::{aws.account}:role/web-role"
    iam = aws.client("iam")
    _ec2_role(aws, "web-role")
    _ec2_role(aws, "other-role")
    dynamodb = aws.client("dynamodb")
    table = dynamodb.create_table(
        TableName="orders", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")["TableDescription"]["TableArn"]
    iam.put_role_policy(RoleName="web-role", PolicyName="orders", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table}]}))

    def grant(principal: str, action: str, resource: str) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": principal}, "Action": action,
            "Resource": resource}]})

    dynamodb.put_resource_policy(ResourceArn=table, Policy=grant(role, "dynamodb:PutItem", table))
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="reports-bucket")
    s3.put_bucket_policy(Bucket="reports-bucket", Policy=grant(
        f"arn:aws:iam::{aws.account}:role/other-role", "s3:GetObject",
        "arn:aws:s3:::reports-bucket/*"))
    table_call = {"region": aws.region, "table_name": "orders", "account_id": aws.account}
    _orders_api(tmp_path, role, ("DynamoDB", {"operation": "GetItem", **table_call}),
                ("DynamoDB", {"operation": "PutItem", **table_call}),
                ("S3", {"operation": "GetObject", "region": aws.region,
                        "bucket_name": "reports-bucket", "key": "2026/a.json"}))
    scan = ["scan", "--traces", "traces.json", "--compare", "attached", "--format", "json"]

    code = main(scan)
    report = json.loads(capsys.readouterr().out)
    missing = {f["action"]: f for f in report["findings"] if f["kind"] == "missing"}
    assert set(missing) == {"dynamodb:PutItem", "s3:GetObject"}
    put = missing["dynamodb:PutItem"]
    assert put["conditional"] and put["origin"]["policy_arn"] == table
    assert put["origin"]["policy_name"] == "table policy"
    main([*scan[:-1], "text"])
    text = capsys.readouterr().out
    assert f"dynamodb:PutItem on {table} (resource policy) [{table} (table policy)]" in text
    assert not missing["s3:GetObject"]["conditional"]
    assert code == 1
    assert any("allowed by a resource-based policy" in r for r in report["reasons"])

    named = json.loads(grant(role, "s3:GetObject", "arn:aws:s3:::reports-bucket/2026/*"))
    # a statement for anyone too: the use it may allow is the named role's already
    named["Statement"].append({
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::reports-bucket/*",
        "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}})
    s3.put_bucket_policy(Bucket="reports-bucket", Policy=json.dumps(named))
    code = main(scan)
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    got = next(f for f in report["findings"] if f["action"] == "s3:GetObject")
    assert got["conditional"] and got["origin"]["policy_arn"] == "arn:aws:s3:::reports-bucket"
    assert "resource-policy-public" not in {w["code"] for w in report["warnings"]}

    # anyone of an organization, which the scan cannot tell offline: the use is allowed
    # under that condition, still "by resource policy"
    s3.put_bucket_policy(Bucket="reports-bucket", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "Org", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::reports-bucket/*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}]}))
    code = main(scan)
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    got = next(f for f in report["findings"] if f["action"] == "s3:GetObject")
    assert (got["decision"], got["conditional"]) == ("resource_policy", True)

    # anyone at all: a public statement names no role, so the use stays missing, and
    # the report says the bucket lets anyone do it
    s3.put_bucket_policy(Bucket="reports-bucket", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::reports-bucket/*"}]}))
    code = main(scan)
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    got = next(f for f in report["findings"] if f["action"] == "s3:GetObject")
    assert (got["kind"], got["decision"]) == ("missing", "implicit_deny")
    [public] = [w for w in report["warnings"] if w["code"] == "resource-policy-public"]
    assert public["examples"] == [
        f"{role}: s3:GetObject on arn:aws:s3:::reports-bucket/2026/a.json "
        "(arn:aws:s3:::reports-bucket bucket policy, Anyone)"]


@pytest.mark.slow
def test_both_mode_grants_a_role_read_from_iam_what_the_files_resource_policies_do(
    tmp_path: Path, aws, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No file declares the role, so it is read from IAM (moto); the pull request's
    template declares a table whose policy names it by ARN: the use that policy grants
    is reported, not failing."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.chdir(tmp_path)
    role = f"arn:aws:iam::{aws.account}:role/web-role"
    table = f"arn:aws:dynamodb:{aws.region}:{aws.account}:table/orders"
    iam = aws.client("iam")
    _ec2_role(aws, "web-role")
    iam.put_role_policy(RoleName="web-role", PolicyName="orders", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table}]}))
    shutil.copy(DATA / "resource-policy-both.yaml", tmp_path / "template.yaml")
    where = {"region": aws.region, "table_name": "orders", "account_id": aws.account}
    _orders_api(tmp_path, role, ("DynamoDB", {"operation": "GetItem", **where}),
                ("DynamoDB", {"operation": "PutItem", **where}))

    code = main(["scan", "--traces", "traces.json", "--compare", "both", "--policy-paths",
                 "template.yaml", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    [put] = [f for f in report["findings"] if f["kind"] == "missing"]
    assert (put["role"], put["action"], put["decision"]) == (
        role, "dynamodb:PutItem", "resource_policy")
    assert (put["origin"]["file"], put["origin"]["logical_id"]) == ("template.yaml", "Orders")
    assert code == 0


@pytest.mark.slow
def test_both_mode_grants_a_role_read_from_iam_what_a_declared_policy_for_its_organization_does(
    tmp_path: Path, aws, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The role is read from IAM (moto) and has no grant on the bucket; the pull request
    declares the bucket's policy, which lets anyone in the organization read it. That
    policy replaces the account's (whose statement names another role), and grants the
    role as one of the organization's: the use is reported, not failing."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.chdir(tmp_path)
    role = f"arn:aws:iam::{aws.account}:role/web-role"
    _ec2_role(aws, "web-role")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="shared-reports")
    s3.put_bucket_policy(Bucket="shared-reports", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{aws.account}:role/other"},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared-reports/*"}]}))
    shutil.copy(DATA.parent / "grants/organization/shared.yaml", tmp_path / "template.yaml")
    _orders_api(tmp_path, role, ("S3", {"operation": "GetObject", "region": aws.region,
                                        "bucket_name": "shared-reports", "key": "a.json"}),
                ("S3", {"operation": "PutObject", "region": aws.region,
                        "bucket_name": "shared-reports", "key": "b.json"}))

    code = main(["scan", "--traces", "traces.json", "--compare", "both", "--policy-paths",
                 "template.yaml", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    [get, put] = sorted((f for f in report["findings"] if f["kind"] == "missing"),
                        key=lambda f: f["action"])
    assert (get["role"], get["action"], get["decision"]) == (
        role, "s3:GetObject", "resource_policy")
    assert (get["origin"]["file"], get["origin"]["logical_id"]) == (
        "template.yaml", "SharedPolicy")
    assert "for the principals of an organization" in get["message"]
    # the statement for anyone in the account (aws:PrincipalAccount) says so
    assert (put["action"], put["decision"]) == ("s3:PutObject", "resource_policy")
    assert "for every principal of the role's account" in put["message"]
    assert code == 0


@pytest.mark.slow
def test_both_mode_reads_the_account_s_policies_of_what_a_declared_role_used(
    tmp_path: Path, aws, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The template declares the role by name; the table it writes to is the account's,
    whose policy (moto's DynamoDB) names the role: with compare both, that policy is read
    for the use the role's own policies do not allow. With compare declared it is not.
    Once the pull request declares the table's policy itself, naming another role, that
    replaces the account's, which is no longer read."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.chdir(tmp_path)
    role = f"arn:aws:iam::{aws.account}:role/web-role"
    dynamodb = aws.client("dynamodb")
    table = dynamodb.create_table(
        TableName="orders", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")["TableDescription"]["TableArn"]
    dynamodb.put_resource_policy(ResourceArn=table, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": role}, "Action": "dynamodb:PutItem",
            "Resource": table}]}))
    shutil.copy(DATA / "resource-policy-declared-role.yaml", tmp_path / "template.yaml")
    where = {"region": aws.region, "table_name": "orders", "account_id": aws.account}
    _orders_api(tmp_path, role, ("DynamoDB", {"operation": "GetItem", **where}),
                ("DynamoDB", {"operation": "PutItem", **where}))
    scan = ["scan", "--traces", "traces.json", "--policy-paths", "template.yaml",
            "--format", "json"]

    assert main([*scan, "--compare", "both"]) == 0
    report = json.loads(capsys.readouterr().out)
    [put] = [f for f in report["findings"] if f["kind"] == "missing"]
    assert (put["role"], put["action"], put["decision"]) == (
        role, "dynamodb:PutItem", "resource_policy")
    assert put["origin"]["policy_arn"] == table

    assert main([*scan, "--compare", "declared"]) == 1
    report = json.loads(capsys.readouterr().out)
    [put] = [f for f in report["findings"] if f["kind"] == "missing"]
    assert put["decision"] == "implicit_deny"

    shutil.copy(DATA / "resource-policy-replaced.yaml", tmp_path / "template.yaml")
    assert main([*scan, "--compare", "both"]) == 1
    report = json.loads(capsys.readouterr().out)
    [put] = [f for f in report["findings"] if f["kind"] == "missing"]
    assert (put["role"], put["decision"]) == (role, "implicit_deny")


@pytest.mark.slow
def test_both_mode_adds_the_files_attachments_to_a_role_read_from_iam(
    tmp_path: Path, aws, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A template attaches a policy to a role it does not declare: with --compare both the
    role is read from IAM (moto) and the template's policy is added to it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint_url)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    role_arn = write_partial_role_case(tmp_path, aws.account)
    iam = aws.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="existing", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="existing", PolicyName="own", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}))
    code = main(["scan", "--traces", "traces.json", "--policy-paths", "template.json",
                 "--compare", "both", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    found = {(f["kind"], f["action"], f["origin"]["policy_name"]) for f in report["findings"]
             if f["role"] == role_arn and f["kind"] != "platform"}
    # sns:Publish is granted by the role's own policy in IAM (not missing; its `*` is
    # broad), sqs by the template's, added to the role
    assert found == {("excess", "sqs:SendMessage", "extra"), ("excess", "sns:Publish", "own")}
    assert code == 0


def test_report_file_is_written_before_a_later_failure(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "taken").mkdir()
    (repo / "taken" / "leastpriv.sarif").mkdir()  # a folder where the SARIF file should go
    code = _scan("--report-file", "report.json", "--sarif-file", "taken/leastpriv.sarif")
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot write the SARIF file taken/leastpriv.sarif" in err
    assert json.loads((repo / "report.json").read_text())["verdict"] == "fail"


@pytest.mark.parametrize(
    ("paths", "named"),
    [
        (["role.json", "iam/typo.json"], "'iam/typo.json' does not exist"),
        (["nothing/**/*.tf"], "no file under"),
        (["role.json", ".leastpriv.yml"], "'.leastpriv.yml' is not a file this tool reads"),
        (["role.json", "/etc/hostname"], "'/etc/hostname' is outside the checkout"),
        (["../outside.json"], "'../outside.json' is outside the checkout"),
    ],
)
def test_named_policy_paths_that_find_nothing_are_input_errors(
    repo: Path, capsys: pytest.CaptureFixture[str], paths: list[str], named: str
) -> None:
    flags = [arg for path in paths for arg in ("--policy-paths", path)]
    code = main(["scan", "--traces", str(TRACE), *flags, "--report-file", "r.json"])
    err = capsys.readouterr().err
    assert code == 2
    assert "policy-paths:" in err and named in err
    assert "Traceback" not in err


def test_one_glob_of_several_matching_nothing_is_not_an_error(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _scan("--policy-paths", "nothing/**/*.tf", "--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert code == 1  # the same findings as with role.json alone
    assert {f["action"] for f in report["findings"]} >= {"dynamodb:DeleteItem"}
    unmatched = [w for w in report["warnings"] if w["code"] == "policy-paths-unmatched"]
    assert [w["examples"] for w in unmatched] == [["nothing/**/*.tf"]]


def test_a_boundary_written_as_a_policy_document_limits_the_role(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    role = json.loads((repo / "role.json").read_text())
    role["PermissionsBoundary"] = {"PolicyName": "no-tables", "PolicyDocument": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:*", "sqs:*"], "Resource": "*"}]}}
    (repo / "role.json").write_text(json.dumps(role))
    assert _scan("--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    refused = {(f["action"], f["decision"], f["origin"]["policy_name"])
               for f in report["findings"] if f["kind"] == "missing" and f["resource"] == TABLE}
    assert ("dynamodb:GetItem", "boundary", "no-tables") in refused


def test_a_bad_boundary_is_exit_2_naming_the_file(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    role = json.loads((repo / "role.json").read_text())
    role["PermissionsBoundary"] = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    (repo / "role.json").write_text(json.dumps(role))
    assert _scan() == 2
    err = capsys.readouterr().err
    assert "role.json:1: PermissionsBoundary must be a policy ARN" in err
    assert "Traceback" not in err


def _function_trace(name: str, table: str, number: int) -> dict[str, object]:
    function = f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"
    document = {
        "id": f"{number:016x}", "name": name, "start_time": 1.7e9, "end_time": 1.7e9 + 1,
        "origin": "AWS::Lambda::Function", "aws": {"function_arn": function},
        "subsegments": [{"id": f"{number + 100:016x}", "name": "DynamoDB", "start_time": 1.7e9,
                         "namespace": "aws", "aws": {"operation": "GetItem",
                                                     "region": "eu-west-1",
                                                     "table_name": table}}],
    }
    return {"Id": f"1-00000000-{number:024x}",
            "Segments": [{"Id": document["id"], "Document": json.dumps(document)}]}


def test_terraform_module_instances_are_judged_per_function(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One function module, called for two functions: each instance's role is its own,
    # with the table its call passed in; only the one its function did not use is excess.
    module = repo / "modules" / "fn"
    module.mkdir(parents=True)
    (module / "main.tf").write_text(
        'variable "name" {}\nvariable "tables" {}\n'
        'resource "aws_iam_role" "this" {\n  name = "${var.name}-role"\n}\n'
        'resource "aws_iam_role_policy" "data" {\n  role = aws_iam_role.this.id\n'
        '  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow",\n'
        '    Action = "dynamodb:GetItem", Resource = var.tables}]})\n}\n'
        'resource "aws_lambda_function" "this" {\n  function_name = var.name\n'
        '  role = aws_iam_role.this.arn\n}\n')
    (repo / "main.tf").write_text(
        'locals {\n  tables = "arn:aws:dynamodb:eu-west-1:123456789012:table"\n}\n'
        'module "orders" {\n  source = "./modules/fn"\n  name = "orders"\n'
        '  tables = ["${local.tables}/orders"]\n}\n'
        'module "billing" {\n  source = "./modules/fn"\n  name = "billing"\n'
        '  tables = ["${local.tables}/bills", "${local.tables}/orders"]\n}\n')
    (repo / ".git").mkdir()
    (repo / "traces.json").write_text(json.dumps({"Traces": [
        _function_trace("orders", "orders", 1), _function_trace("billing", "bills", 2)]}))
    (repo / ".leastpriv.yml").unlink()  # the defaults
    code = main(["scan", "--traces", "traces.json", "--policy-paths", "**/*.tf",
                 "--fail-on", "excess", "--format", "json"])
    out, err = capsys.readouterr()
    assert out, err
    report = json.loads(out)
    assert code == 1
    assert {(f["kind"], f["role"], f["resource"]) for f in report["findings"]} == {
        ("excess", "arn:aws:iam::123456789012:role/billing-role",
         "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"),
    }
    (finding,) = report["findings"]
    assert finding["origin"]["file"] == "modules/fn/main.tf"
    assert finding["origin"]["logical_id"] == "module.billing.aws_iam_role_policy.data"


def _ec2_role(aws, name: str) -> None:  # type: ignore[no-untyped-def]
    """A role EC2 may assume, with no policy, in moto's IAM."""
    aws.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))


def _orders_api(folder: Path, role: str, *calls: tuple[str, dict[str, object]]) -> None:
    """``traces.json`` in ``folder``: one trace of the EC2 service "orders-api" making
    ``calls`` (subsegment name, its ``aws`` record); the config maps it to ``role``."""
    document = {"id": "e" * 16, "name": "orders-api", "start_time": 1.7e9,
                "end_time": 1.7e9 + 1, "origin": "AWS::EC2::Instance", "subsegments": [
                    {"id": f"{n:016x}", "name": name, "start_time": 1.7e9,
                     "end_time": 1.7e9 + 0.1, "namespace": "aws", "aws": record}
                    for n, (name, record) in enumerate(calls, 1)]}
    (folder / "traces.json").write_text(json.dumps({"Traces": [_segment_trace(document, 1)]}))
    (folder / ".leastpriv.yml").write_text(f"principals:\n  orders-api: {role}\n")


def _segment_trace(document: dict[str, object], number: int) -> dict[str, object]:
    return {"Id": f"1-00000000-{number:024x}",
            "Segments": [{"Id": document["id"], "Document": json.dumps(document)}]}


def test_a_segment_mapped_to_a_role_is_judged_as_that_role(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The documented principal-map form for EC2/ECS segments: segment name → role ARN
    role = "arn:aws:iam::123456789012:role/orders"
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    document = {"id": "a" * 16, "name": "orders-api", "start_time": 1.7e9, "end_time": 1.7e9 + 1,
                "origin": "AWS::EC2::Instance", "subsegments": [{
                    "id": "b" * 16, "name": "DynamoDB", "start_time": 1.7e9, "namespace": "aws",
                    "aws": {"operation": "GetItem", "region": "us-east-1", "table_name": "orders",
                            "account_id": "123456789012"}}]}
    (repo / "traces.json").write_text(json.dumps({"Traces": [_segment_trace(document, 1)]}))
    (repo / "map.json").write_text(json.dumps({"orders-api": role}))
    (repo / "orders.json").write_text(json.dumps({"RoleName": "orders", "Arn": role, "Policies": [{
        "PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
            "Resource": table}]}}]}))
    (repo / ".leastpriv.yml").unlink()
    code = main(["scan", "--traces", "traces.json", "--policy-paths", "orders.json",
                 "--principal-map", "map.json", "--fail-on", "excess", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(f["kind"], f["action"], f["resource"]) for f in report["findings"]] == [
        ("excess", "dynamodb:PutItem", table)]
    assert report["coverage"]["unmapped"] == [] and report["coverage"]["unobserved"] == []


def test_a_role_shared_with_an_untraced_function_gets_no_excess_verdict_for_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two functions declared on one role; the tests exercised only "orders". What
    # "billing" needs is unknown: the unused grant is reported with that caveat, the
    # gate does not fail on it, and billing is named as having no traces.
    (repo / "main.tf").write_text(
        'resource "aws_iam_role" "shared" {\n  name = "shared"\n}\n'
        'resource "aws_iam_role_policy" "data" {\n  role = aws_iam_role.shared.id\n'
        '  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow",\n'
        '    Action = "dynamodb:GetItem", Resource = [\n'
        '      "arn:aws:dynamodb:eu-west-1:123456789012:table/orders",\n'
        '      "arn:aws:dynamodb:eu-west-1:123456789012:table/bills"]}]})\n}\n'
        'resource "aws_lambda_function" "orders" {\n  function_name = "orders"\n'
        '  role = aws_iam_role.shared.arn\n}\n'
        'resource "aws_lambda_function" "billing" {\n  function_name = "billing"\n'
        '  role = aws_iam_role.shared.arn\n}\n')
    (repo / "traces.json").write_text(json.dumps({"Traces": [
        _function_trace("orders", "orders", 1)]}))
    (repo / ".leastpriv.yml").unlink()
    code = main(["scan", "--traces", "traces.json", "--policy-paths", "main.tf",
                 "--fail-on", "excess", "--format", "json"])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 0, err
    by_kind = {f["kind"]: f for f in report["findings"]}
    assert set(by_kind) == {"excess", "unobserved"}
    excess = by_kind["excess"]
    assert excess["resource"] == "arn:aws:dynamodb:eu-west-1:123456789012:table/bills"
    assert excess["untraced_principals"] == ["billing"]
    assert "`billing` also run(s) as this role and had no traces" in excess["message"]
    assert by_kind["unobserved"]["principals"] == ["billing"]
    assert report["coverage"]["unobserved"] == ["billing"]
    assert "1 excess finding(s) are on roles that also run principals without traces" in err
    assert any("`billing` had no traces" in note
               for notes in report["proposal_notes"].values() for note in notes)
    # once billing is traced too, the same grant is judged and fails the gate
    (repo / "traces.json").write_text(json.dumps({"Traces": [
        _function_trace("orders", "orders", 1), _function_trace("billing", "orders", 2)]}))
    assert main(["scan", "--traces", "traces.json", "--policy-paths", "main.tf",
                 "--fail-on", "excess", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [f["kind"] for f in report["findings"]] == ["excess"]
    assert "untraced_principals" not in report["findings"][0]


def test_sarif_fallback_location_is_the_running_workflow_file() -> None:
    from leastpriv_ci.commands.scan import _workflow_file

    environ = {"GITHUB_REPOSITORY": "octo/app",
               "GITHUB_WORKFLOW_REF": "octo/app/.github/workflows/gate.yml@refs/pull/7/merge"}
    assert _workflow_file(environ) == ".github/workflows/gate.yml"
    # A reusable workflow of another repository is not a file of this one.
    assert _workflow_file({**environ, "GITHUB_WORKFLOW_REF": "org/shared/.github/workflows/"
                           "g.yml@v1"}) is None
    assert _workflow_file({}) is None


ORDERS = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"


def _scan_template(
    repo: Path, capsys: pytest.CaptureFixture[str], template: str, config: str = ""
) -> tuple[int, dict[str, Any]]:
    """Scan one template against a trace of function "orders" reading table "orders"."""
    (repo / ".git").mkdir(exist_ok=True)
    (repo / "template.yaml").write_text(template)
    (repo / "traces.json").write_text(json.dumps({"Traces": [
        _function_trace("orders", "orders", 1)]}))
    (repo / ".leastpriv.yml").write_text(config or "{}\n")
    code = main(["scan", "--traces", "traces.json", "--policy-paths", "template.yaml",
                 "--format", "json"])
    out, err = capsys.readouterr()
    assert out, err
    report: dict[str, Any] = json.loads(out)
    return code, report


def _verdicts(report: dict[str, Any]) -> set[tuple[str, str, str, bool]]:
    return {(f["kind"], f["action"], f["resource"], f["conditional"])
            for f in report["findings"]}


def test_an_import_value_set_in_the_config_parameters_is_judged(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The export names another table: the use of "orders" is definitely missing, not
    # "may be missing" behind an unresolved value.
    template = (
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n"
        "  Role:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: orders-role\n"
        "      Policies:\n        - PolicyName: p\n          PolicyDocument:\n"
        "            Statement:\n              - Effect: Allow\n"
        "                Action: dynamodb:GetItem\n"
        "                Resource: !ImportValue shared-table-arn\n"
        "  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n"
        "      FunctionName: orders\n      Role: !GetAtt Role.Arn\n")
    config = ("parameters:\n"
              "  shared-table-arn: arn:aws:dynamodb:eu-west-1:123456789012:table/other\n")
    code, report = _scan_template(repo, capsys, template, config)
    assert code == 1
    assert _verdicts(report) == {
        ("missing", "dynamodb:GetItem", ORDERS, False),
        ("excess", "dynamodb:GetItem", "arn:aws:dynamodb:eu-west-1:123456789012:table/other",
         False)}
    assert not any(w["code"] == "unresolved-value" for w in report["warnings"])


def test_a_policy_attached_to_roles_behind_a_decided_condition_grants_them(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Roles: !If [IsProd, [!Ref Role], []] with IsProd true: the use is allowed.
    template = (
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Parameters:\n  Env: {Type: String, Default: prod}\n"
        "Conditions:\n  IsProd: !Equals [!Ref Env, prod]\nResources:\n"
        "  Role:\n    Type: AWS::IAM::Role\n    Properties: {AssumeRolePolicyDocument: {}}\n"
        "  P:\n    Type: AWS::IAM::Policy\n    Properties:\n      PolicyName: attached\n"
        "      Roles: !If [IsProd, [!Ref Role], []]\n"
        "      PolicyDocument:\n        Statement:\n          - Effect: Allow\n"
        "            Action: dynamodb:GetItem\n"
        f"            Resource: {ORDERS}\n"
        "  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n"
        "      FunctionName: orders\n      Role: !GetAtt Role.Arn\n")
    code, report = _scan_template(repo, capsys, template)
    assert code == 0
    assert _verdicts(report) == set()
    assert report["coverage"]["roles"] == ["Role"]


def test_grants_that_resolve_to_no_value_leave_a_use_definitely_missing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Dev-only grants are AWS::NoValue in prod: nothing allows the use, so it is missing
    # and fails the gate (not "may be missing" behind an unknown placeholder policy).
    template = (
        "AWSTemplateFormatVersion: '2010-09-09'\n"
        "Parameters:\n  Env: {Type: String, Default: prod}\n"
        "Conditions:\n  IsDev: !Equals [!Ref Env, dev]\nResources:\n"
        "  Role:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      RoleName: orders-role\n      AssumeRolePolicyDocument: {}\n"
        "      Policies: !If\n        - IsDev\n"
        "        - [{PolicyName: dev, PolicyDocument: {Statement: "
        "{Effect: Allow, Action: 'dynamodb:*', Resource: '*'}}}]\n"
        "        - !Ref AWS::NoValue\n"
        "      ManagedPolicyArns:\n"
        "        - !If [IsDev, 'arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess', "
        "!Ref AWS::NoValue]\n"
        "  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n"
        "      FunctionName: orders\n      Role: !GetAtt Role.Arn\n")
    code, report = _scan_template(repo, capsys, template)
    assert code == 1
    assert _verdicts(report) == {("missing", "dynamodb:GetItem", ORDERS, False)}


def test_a_managed_policy_of_the_template_named_by_policy_arn_grants_the_role(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = (
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n"
        "  Reads:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n"
        "      PolicyDocument:\n        Statement:\n          - Effect: Allow\n"
        f"            Action: dynamodb:GetItem\n            Resource: {ORDERS}\n"
        "  Role:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      AssumeRolePolicyDocument: {}\n"
        "      ManagedPolicyArns: [!GetAtt Reads.PolicyArn]\n"
        "  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n"
        "      FunctionName: orders\n      Role: !GetAtt Role.Arn\n")
    code, report = _scan_template(repo, capsys, template)
    assert code == 0
    assert _verdicts(report) == set()  # not "may be missing" behind an unknown policy


def test_a_function_whose_role_sam_creates_under_a_condition_is_judged(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The function's Role is an Fn::If SAM decides to its generated role: the use of a
    # table its policies do not name is missing (not "no verdict" for an unknown role).
    template = (
        "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"
        "Parameters:\n  RoleArn: {Type: String, Default: ''}\n"
        "Conditions:\n  HasRole: !Not [!Equals [!Ref RoleArn, '']]\nResources:\n"
        "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      FunctionName: orders\n      Handler: index.handler\n"
        "      Runtime: python3.12\n      CodeUri: src/\n"
        "      Role: !If [HasRole, !Ref RoleArn, !Ref AWS::NoValue]\n"
        "      Policies:\n        - DynamoDBReadPolicy: {TableName: bills}\n")
    code, report = _scan_template(repo, capsys, template)
    assert code == 1
    assert {(f["kind"], f["resource"]) for f in report["findings"]
            if f["kind"] != "excess" and f["resource"] != "*"} == {("missing", ORDERS)}
    assert {f["role"] for f in report["findings"]} == {"FnRole"}
    assert not any(w["code"] in ("unknown-role", "sam-policies-ignored")
                   for w in report["warnings"])


def test_traces_whose_principals_have_no_known_role_fail_the_gate(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without the config's principals: mapping no traced function runs as role.json's role
    (repo / ".leastpriv.yml").unlink()
    code = _scan("--format", "json")
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["verdict"] == "fail"
    assert report["coverage"]["principals"] and \
        set(report["coverage"]["unmapped"]) == set(report["coverage"]["principals"])
    assert any(r.startswith("No traced principal's role was found") for r in report["reasons"])


def test_scan_help_states_the_gate_defaults_a_scan_applies(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    with pytest.raises(SystemExit):
        main(["scan", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    stated = re.search(r"--fail-on KINDS .*?\(default ([a-z,]+):", text)
    assert stated is not None and "excess" not in stated.group(1).split(",")
    assert "(default unset)" in text and "(default low)" in text
    code = _scan("--format", "json")
    report = json.loads(capsys.readouterr().out)
    kinds = {f["kind"] for f in report["findings"]}
    assert {"excess", "missing"} <= kinds and code == 1  # missing fails by default
    assert any("excess finding(s) reported but not gated" in r for r in report["reasons"])


@pytest.mark.usefixtures("no_aws_credentials")
def test_no_credentials_for_a_scan_that_reads_aws_is_told_in_the_cli_s_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(DATA / "role.json", tmp_path / "role.json")
    monkeypatch.chdir(tmp_path)
    code = _scan("--compare", "attached")
    err = capsys.readouterr().err
    assert code == 2
    assert "no AWS credentials found" in err and "--compare declared" in err
    assert "role-to-assume input" not in err and "Traceback" not in err


@pytest.mark.parametrize(("stack", "matched"), [("notes-staging", True), ("other", False)])
def test_the_config_s_stack_name_decides_a_generated_function_name(
    repo: Path, capsys: pytest.CaptureFixture[str], stack: str, matched: bool
) -> None:
    # CloudFormation names the function STACK-LOGICALID-SUFFIX; the configured stack-name
    # must agree for the offline match (docs/grants.md)
    (repo / ".git").mkdir(exist_ok=True)
    (repo / "template.yaml").write_text(
        "Resources:\n  OrdersFunctionRole:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      AssumeRolePolicyDocument: {}\n"
        "  OrdersFunction:\n    Type: AWS::Lambda::Function\n    Properties:\n"
        "      Role: !GetAtt OrdersFunctionRole.Arn\n      Handler: index.handler\n"
        "      Runtime: python3.12\n      Code: {ZipFile: x}\n")
    (repo / "traces.json").write_text(json.dumps({"Traces": [
        _function_trace("notes-staging-OrdersFunction-AbC123XyZ789", "orders", 1)]}))
    (repo / ".leastpriv.yml").write_text(f"stack-name: {stack}\n")
    main(["scan", "--traces", "traces.json", "--policy-paths", "template.yaml",
          "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert (report["coverage"]["unmapped"] == []) is matched
    assert any(f["role"] == "OrdersFunctionRole" and f["kind"] == "missing"
               for f in report["findings"]) is matched


def _call_trace(calls: list[dict[str, object]]) -> dict[str, object]:
    """One trace of function "orders" (us-east-1) making ``calls`` (subsegment aws fields)."""
    function = "arn:aws:lambda:us-east-1:123456789012:function:orders"
    document = {
        "id": "a" * 16, "name": "orders", "start_time": 1.7e9, "end_time": 1.7e9 + 1,
        "origin": "AWS::Lambda::Function", "aws": {"function_arn": function},
        "subsegments": [{"id": f"{n + 1:016x}", "name": name, "start_time": 1.7e9,
                         "namespace": "aws", "aws": {"region": "us-east-1", **call}}
                        for n, (name, call) in enumerate(
                            (str(c.pop("service")), c) for c in map(dict, calls))],
    }
    return {"Id": "1-00000000-" + "0" * 24,
            "Segments": [{"Id": document["id"], "Document": json.dumps(document)}]}


def _scan_role(repo: Path, capsys: pytest.CaptureFixture[str], statements: list[object],
               calls: list[dict[str, object]]) -> tuple[int, dict[str, Any]]:
    """Scan one role JSON of ``statements`` against one trace of function "orders"."""
    (repo / "role.json").write_text(json.dumps({
        "RoleName": "orders", "Arn": "arn:aws:iam::123456789012:role/orders",
        "Policies": [{"PolicyName": "p", "PolicyDocument": {
            "Version": "2012-10-17", "Statement": statements}}]}))
    (repo / "traces.json").write_text(json.dumps({"Traces": [_call_trace(calls)]}))
    (repo / ".leastpriv.yml").write_text(
        "principals:\n  orders: arn:aws:iam::123456789012:role/orders\n")
    code = _scan_with(["--traces", "traces.json", "--policy-paths", "role.json"])
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return code, report


def _scan_with(args: list[str]) -> int:
    return main(["scan", *args, "--format", "json"])


def test_a_secret_named_by_its_name_is_the_one_its_full_arn_grant_names(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf"
    code, report = _scan_role(repo, capsys, [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret}],
        [{"service": "SecretsManager", "operation": "GetSecretValue", "secret_id": "other"}])
    found = {(f["kind"], f["action"]) for f in report["findings"]}
    assert ("missing", "secretsmanager:GetSecretValue") not in found
    assert ("excess", "secretsmanager:GetSecretValue") not in found
    assert code == 0, report["reasons"]
    # another secret's full ARN does not grant it
    _, report = _scan_role(repo, capsys, [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": secret.replace("other-", "others")}],
        [{"service": "SecretsManager", "operation": "GetSecretValue", "secret_id": "other"}])
    assert {(f["kind"], f["action"]) for f in report["findings"]} >= {
        ("missing", "secretsmanager:GetSecretValue"), ("excess", "secretsmanager:GetSecretValue")}


def test_base_ref_from_a_folder_of_the_repository(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A monorepo: the scan runs in services/hello, a folder of the repository; git names
    # the base's files relative to that folder, as the scan does.
    import subprocess

    service = repo / "services" / "hello"
    service.mkdir(parents=True)
    role = json.loads((repo / "role.json").read_text())
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    base = {**role, "Policies": [{**role["Policies"][0], "PolicyDocument": {
        "Version": "2012-10-17", "Statement": statements[:3]}}]}
    (service / "role.json").write_text(json.dumps(base, indent=2))
    (repo / ".leastpriv.yml").rename(service / ".leastpriv.yml")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "services"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    (service / "role.json").write_text(json.dumps(role, indent=2))  # adds the Queue statement
    monkeypatch.chdir(service)
    assert _scan("--base-ref", "HEAD", "--format", "json") == 1
    change = json.loads(capsys.readouterr().out)["changes"][ROLE]
    assert [a["statement"]["Action"] for a in change["added"]] == ["sqs:SendMessage"]


def test_a_tls_only_deny_does_not_make_traced_calls_may_be_missing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # SDK calls use TLS (request_context.yaml), so the guardrail refuses none of them;
    # a condition on another key is still undecided
    allow = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    call = [{"service": "SecretsManager", "operation": "GetSecretValue", "secret_id": "s"}]
    for key, value, refused in (("aws:SecureTransport", "false", False),
                                ("aws:SourceVpce", "vpce-1", True)):
        deny = {"Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"Bool" if key == "aws:SecureTransport" else "StringEquals":
                              {key: value}}}
        _, report = _scan_role(repo, capsys, [allow, deny], call)
        missing = [f for f in report["findings"] if f["kind"] == "missing"]
        assert bool(missing) is refused, key
        assert all(f["conditional"] for f in missing)


def test_a_grant_on_every_secret_used_on_one_named_secret_is_broad(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The suggestion is written as the proposal writes it: the suffix's six "?" stay
    # wildcards, so it is narrower than "secret:*" and matches the secret
    every = "arn:aws:secretsmanager:us-east-1:123456789012:secret:*"
    _, report = _scan_role(repo, capsys, [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": every}],
        [{"service": "SecretsManager", "operation": "GetSecretValue", "secret_id": "other"}])
    (finding,) = report["findings"]
    assert finding["kind"] == "excess" and finding["resource"] == every
    assert finding["suggested_resources"] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-??????"]
    (statement,) = report["proposals"]["arn:aws:iam::123456789012:role/orders"]["Statement"]
    assert statement["Resource"] == finding["suggested_resources"][0]


SES = "arn:aws:ses:us-east-1:123456789012:identity/"
SEND = [{"service": "SES", "operation": "SendEmail", "source": "Orders <orders@example.com>"}]


@pytest.mark.parametrize(("granted", "missing", "proposed"), [
    # only the domain verified, the usual set-up: SES authorizes the send on the domain
    ([f"{SES}example.com"], False, [f"{SES}example.com"]),
    ([f"{SES}orders@example.com"], False, [f"{SES}orders@example.com"]),
    # nothing declared says which: the proposal grants both, so it works either way
    ([f"{SES}*"], False, [f"{SES}example.com", f"{SES}orders@example.com"]),
    ([f"{SES}example.org"], True, [f"{SES}example.com", f"{SES}orders@example.com"]),
])
def test_an_ses_send_from_an_address_is_granted_on_its_identity_or_its_domain_s(
    repo: Path, capsys: pytest.CaptureFixture[str], granted: list[str], missing: bool,
    proposed: list[str],
) -> None:
    _, report = _scan_role(repo, capsys, [
        {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": granted}], SEND)
    kinds = {f["kind"] for f in report["findings"] if f["action"] == "ses:SendEmail"}
    assert ("missing" in kinds) is missing
    if granted == [f"{SES}*"]:
        (broad,) = report["findings"]
        assert broad["kind"] == "excess" and broad["suggested_resources"] == proposed
    elif not missing:
        assert not kinds
    (statement,) = report["proposals"]["arn:aws:iam::123456789012:role/orders"]["Statement"]
    assert sorted([statement["Resource"]] if isinstance(statement["Resource"], str)
                  else statement["Resource"]) == proposed


def test_an_allow_only_over_tls_is_decided_for_findings_and_kept_in_the_proposal(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tls = {"Bool": {"aws:SecureTransport": "true"}}
    _, report = _scan_role(repo, capsys, [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
         "Condition": tls}],
        [{"service": "SecretsManager", "operation": "GetSecretValue", "secret_id": "s"}])
    assert not [f for f in report["findings"] if f["kind"] == "missing"]
    (statement,) = report["proposals"]["arn:aws:iam::123456789012:role/orders"]["Statement"]
    assert statement["Condition"] == tls


def test_an_ses_send_from_a_subdomain_is_granted_on_the_verified_parent_domain(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    send = [{"service": "SES", "operation": "SendEmail",
             "source": "orders@mail.example.com"}]
    code, report = _scan_role(repo, capsys, [
        {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": f"{SES}example.com"}], send)
    assert code == 0 and report["findings"] == []
    (statement,) = report["proposals"]["arn:aws:iam::123456789012:role/orders"]["Statement"]
    assert statement["Resource"] == f"{SES}example.com"
    # nothing declared says which identity is verified: all three
    _, report = _scan_role(repo, capsys, [
        {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"}], send)
    (statement,) = report["proposals"]["arn:aws:iam::123456789012:role/orders"]["Statement"]
    assert sorted(statement["Resource"]) == [
        f"{SES}example.com", f"{SES}mail.example.com", f"{SES}orders@mail.example.com"]


def test_the_suggested_narrowing_of_a_secret_grant_is_what_the_proposal_grants(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The role also names the secret's full ARN: both keep that, not NAME-??????
    every = "arn:aws:secretsmanager:us-east-1:123456789012:secret:*"
    full = "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf"
    _, report = _scan_role(repo, capsys, [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": [every, full]}],
        [{"service": "SecretsManager", "operation": "GetSecretValue", "secret_id": "other"}])
    (broad,) = [f for f in report["findings"] if f["resource"] == every]
    assert broad["suggested_resources"] == [full]
    (statement,) = report["proposals"]["arn:aws:iam::123456789012:role/orders"]["Statement"]
    assert statement["Resource"] == full


def test_an_ses_send_granted_on_its_domain_over_tls_only_keeps_the_condition(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tls = {"Bool": {"aws:SecureTransport": "true"}}
    _, report = _scan_role(repo, capsys, [
        {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": f"{SES}example.com",
         "Condition": tls}], SEND)
    assert report["findings"] == []
    (statement,) = report["proposals"]["arn:aws:iam::123456789012:role/orders"]["Statement"]
    assert statement["Resource"] == f"{SES}example.com" and statement["Condition"] == tls


def test_output_is_never_written_through_a_link(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = repo.parent / f"{repo.name}-victim"
    victim.write_text("ORIGINAL\n")
    (repo / "out.md").symlink_to(victim)
    code = _scan("--format", "markdown", "--output", "out.md")
    capsys.readouterr()
    assert code == 1
    assert victim.read_text() == "ORIGINAL\n"
    assert (repo / "out.md").read_text().startswith("### leastpriv-ci")


def test_an_ecs_task_is_judged_as_its_terraform_task_role(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # ADOT names the task's family; the task definition binds it to its task role, never
    # to its execution role (whose managed policy would otherwise be all excess)
    shutil.copy(Path(__file__).parent / "data" / "grants" / "terraform" / "ecs" / "main.tf",
                repo / "main.tf")
    table = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    _write_ecs_orders_trace(repo)
    (repo / ".leastpriv.yml").unlink()
    code = main(["scan", "--traces", "traces.json", "--policy-paths", "main.tf",
                 "--fail-on", "excess", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(f["kind"], f["role"], f["action"], f["resource"]) for f in report["findings"]] == [
        ("excess", "arn:aws:iam::123456789012:role/orders-task", "dynamodb:PutItem", table)]
    # the execution role is the ECS agent's: no traced code ever runs as it, so it is
    # not a role without traces either
    assert report["coverage"]["unmapped"] == report["coverage"]["unobserved"] == []


def test_an_ec2_segment_mapped_to_an_instance_profile_is_judged_as_its_role(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The principal map names the instance profile EC2 runs the service with; the
    # Terraform profile binds it to its role
    shutil.copy(Path(__file__).parent / "data" / "grants" / "terraform" / "ec2" / "main.tf",
                repo / "main.tf")
    table = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    document = {"id": "e" * 16, "name": "orders-api", "start_time": 1.7e9,
                "end_time": 1.7e9 + 1, "origin": "AWS::EC2::Instance",
                "subsegments": [{
                    "id": "f" * 16, "name": "DynamoDB", "start_time": 1.7e9, "namespace": "aws",
                    "aws": {"operation": "GetItem", "region": "eu-west-1",
                            "table_name": "orders", "account_id": "123456789012"}}]}
    (repo / "traces.json").write_text(json.dumps({"Traces": [_segment_trace(document, 1)]}))
    (repo / "map.json").write_text(json.dumps(
        {"orders-api": "arn:aws:iam::123456789012:instance-profile/web-profile"}))
    (repo / ".leastpriv.yml").unlink()
    code = main(["scan", "--traces", "traces.json", "--policy-paths", "main.tf",
                 "--principal-map", "map.json", "--account", "123456789012",
                 "--fail-on", "excess", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(f["kind"], f["role"], f["action"], f["resource"]) for f in report["findings"]
            if f["kind"] != "unobserved"] == [
        ("excess", "arn:aws:iam::123456789012:role/web-role", "dynamodb:PutItem", table)]
    excess = next(f for f in report["findings"] if f["kind"] == "excess")
    assert excess["principals"] == ["arn:aws:iam::123456789012:instance-profile/web-profile"]
    assert report["coverage"]["unmapped"] == []


def test_a_task_role_that_is_its_execution_role_too_keeps_the_ecs_agent_s_permissions(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One role for both: the ECS agent pulls the image and sends logs with it, which no
    # trace shows; those grants are platform findings, not excess the gate fails on.
    text = (Path(__file__).parent / "data" / "grants" / "terraform" / "ecs" / "main.tf"
            ).read_text().replace("execution_role_arn       = aws_iam_role.execution.arn",
                                  "execution_role_arn       = aws_iam_role.task.arn")
    policy = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    text = text.replace('  name               = "orders-task"\n',
                        f'  name               = "orders-task"\n'
                        f'  managed_policy_arns = ["{policy}"]\n')
    (repo / "main.tf").write_text(text)
    _write_ecs_orders_trace(repo)
    (repo / ".leastpriv.yml").unlink()

    def findings(*flags: str) -> set[tuple[str, str]]:
        main(["scan", "--traces", "traces.json", "--policy-paths", "main.tf",
              "--format", "json", *flags])
        report = json.loads(capsys.readouterr().out)
        return {(f["kind"], f["action"]) for f in report["findings"]
                if f["role"] == "arn:aws:iam::123456789012:role/orders-task"}

    agent = {"ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability",
             "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "logs:CreateLogStream",
             "logs:PutLogEvents"}
    assert findings() == {("platform", a) for a in agent} | {("excess", "dynamodb:PutItem")}
    # the configuration's word on the group stands
    (repo / ".leastpriv.yml").write_text("platform:\n  ecs-task-execution: off\n")
    assert findings() == {("excess", a) for a in agent} | {("excess", "dynamodb:PutItem")}


def _write_ecs_orders_trace(repo: Path) -> None:
    """traces.json: ADOT's segment of ECS task family ``orders`` reading table orders."""
    document = {"id": "c" * 16, "name": "orders", "start_time": 1.7e9, "end_time": 1.7e9 + 1,
                "origin": "AWS::ECS::Container",
                "aws": {"ecs": {"task_family": "orders"}, "region": "eu-west-1",
                        "account_id": "123456789012"},
                "subsegments": [{
                    "id": "d" * 16, "name": "DynamoDB", "start_time": 1.7e9, "namespace": "aws",
                    "aws": {"operation": "GetItem", "region": "eu-west-1",
                            "table_name": "orders", "account_id": "123456789012"}}]}
    (repo / "traces.json").write_text(json.dumps({"Traces": [_segment_trace(document, 1)]}))


def test_a_cdk_json_that_discovery_cannot_follow_is_a_warning_of_the_scan(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "policies").mkdir()
    (repo / "role.json").rename(repo / "policies" / "role.json")  # found by default
    (repo / "cdk.json").write_text('{"app": "npx ts-node bin/app.ts",\n "output": "../x"}\n')
    code = main(["scan", "--traces", str(TRACE), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1  # the same findings as with role.json named
    assert {f["action"] for f in report["findings"]} >= {"dynamodb:DeleteItem"}
    [ignored] = [w for w in report["warnings"] if w["code"] == "cdk-output-ignored"]
    assert ignored["examples"] == ["cdk.json:2 ('../x')"]


@pytest.mark.parametrize(("source", "file", "line", "logical_id", "policy"), [
    ("resource-policy-template.yaml", "template.yaml", 48, "Docs", "      ResourcePolicy:"),
    ("resource-policy-terraform/main.tf", "main.tf", 59, "aws_dynamodb_resource_policy.docs",
     'resource "aws_dynamodb_resource_policy"'),
])
def test_a_use_a_declared_resource_policy_grants_does_not_fail_the_gate(
    repo: Path, capsys: pytest.CaptureFixture[str], source: str, file: str, line: int,
    logical_id: str, policy: str,
) -> None:
    """The table's own policy grants the role DeleteItem: reported, not failing."""
    template = repo / file
    shutil.copy(DATA / source, template)
    code = main(["scan", "--traces", str(TRACE), "--policy-paths", file, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["findings"]
    [delete] = [f for f in report["findings"] if f["kind"] == "missing"]
    assert (delete["action"], delete["resource"], delete["conditional"]) == (
        "dynamodb:DeleteItem", TABLE, True)
    assert delete["decision"] == "resource_policy"
    assert delete["origin"]["file"] == file
    assert delete["origin"]["line"] == line  # the table policy's statement
    assert delete["origin"]["logical_id"] == logical_id
    assert main(["scan", "--traces", str(TRACE), "--policy-paths", file]) == 0
    out, err = capsys.readouterr()
    assert f"dynamodb:DeleteItem on {TABLE} (resource policy) [{file}:{line}" in out
    assert "allowed by a resource-based policy (naming the role, or its account" in err

    # Without the table's policy, the same use fails the gate
    text = template.read_text()
    template.write_text(text[:text.index(policy)])
    assert main(["scan", "--traces", str(TRACE), "--policy-paths", file,
                 "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    [delete] = [f for f in report["findings"] if f["kind"] == "missing"]
    assert delete["conditional"] is False and delete["decision"] == "implicit_deny"


def test_an_invoke_a_declared_lambda_permission_grants_does_not_fail_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """The service's role may not invoke the worker function, but the template's
    AWS::Lambda::Permission lets it: reported, not failing. Once the permission names
    another principal, the same invoke fails the gate."""
    monkeypatch.chdir(tmp_path)
    role = "arn:aws:iam::123456789012:role/orders-api-role"
    template = """\
Resources:
  ApiRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: orders-api-role
      AssumeRolePolicyDocument: {}
  Worker:
    Type: AWS::Lambda::Function
    Properties: {FunctionName: orders-worker, Role: !GetAtt ApiRole.Arn}
  ApiInvokesWorker:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref Worker
      Action: lambda:InvokeFunction
      Principal: !GetAtt ApiRole.Arn
"""
    (tmp_path / "template.yaml").write_text(template)
    _orders_api(tmp_path, role, ("Lambda", {
        "operation": "Invoke", "region": "us-east-1", "function_name": "orders-worker"}))
    scan = ["scan", "--traces", "traces.json", "--policy-paths", "template.yaml",
            "--format", "json"]

    assert main(scan) == 0
    report = json.loads(capsys.readouterr().out)
    [invoke] = [f for f in report["findings"] if f["kind"] == "missing"]
    assert (invoke["action"], invoke["resource"], invoke["decision"]) == (
        "lambda:InvokeFunction",
        "arn:aws:lambda:us-east-1:123456789012:function:orders-worker", "resource_policy")
    assert (invoke["origin"]["logical_id"], invoke["origin"]["policy_name"]) == (
        "ApiInvokesWorker", "function policy")

    (tmp_path / "template.yaml").write_text(template.replace(
        "Principal: !GetAtt ApiRole.Arn", "Principal: events.amazonaws.com"))
    assert main(scan) == 1
    report = json.loads(capsys.readouterr().out)
    [invoke] = [f for f in report["findings"] if f["kind"] == "missing"]
    assert invoke["decision"] == "implicit_deny"


def test_a_use_a_declared_public_policy_allows_stays_missing_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """The pull request's bucket policy lets anyone list the bucket: that names no role,
    so the role's list stays missing, and the warning says the resource is open to
    anyone. The organization's read of an object is the role's too (reported only). A
    key's policy lets anyone describe it, but the key's ARN is not known before it is
    deployed: no warning for another key's use."""
    monkeypatch.chdir(tmp_path)
    role = "arn:aws:iam::123456789012:role/web-role"
    (tmp_path / "app.yaml").write_text(
        "Resources:\n  WebRole:\n    Type: AWS::IAM::Role\n    Properties:\n"
        "      RoleName: web-role\n      AssumeRolePolicyDocument: {}\n"
        "  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy:\n"
        "        Statement:\n          - {Effect: Allow, Principal: '*', "
        "Action: kms:DescribeKey, Resource: '*'}\n")
    shutil.copy(DATA.parent / "grants/organization/shared.yaml", tmp_path / "shared.yaml")
    _orders_api(tmp_path, role, *(("S3", {"operation": operation, "region": "us-east-1",
                                          "bucket_name": "shared-reports", **key})
                                  for operation, key in (("ListObjectsV2", {}),
                                                         ("GetObject", {"key": "a.json"}))),
                ("KMS", {"operation": "DescribeKey", "region": "us-east-1",
                         "key_id": "arn:aws:kms:us-east-1:123456789012:key/"
                                   "1234abcd-12ab-34cd-56ef-1234567890ab"}))

    code = main(["scan", "--traces", "traces.json", "--policy-paths", "app.yaml",
                 "--policy-paths", "shared.yaml", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    missing = {f["action"]: f for f in report["findings"] if f["kind"] == "missing"}
    assert (missing["s3:ListBucket"]["decision"], missing["s3:GetObject"]["decision"],
            missing["kms:DescribeKey"]["decision"]) == (
        "implicit_deny", "resource_policy", "implicit_deny")
    assert code == 1
    [public] = [w for w in report["warnings"] if w["code"] == "resource-policy-public"]
    assert public["examples"] == [
        f"{role}: s3:ListBucket on arn:aws:s3:::shared-reports "
        "(shared.yaml:35 (SharedPolicy) bucket policy, Everyone)"]


def test_a_use_a_plain_json_resource_policy_grants_a_template_role_does_not_fail_the_gate(
    repo: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """The table's policy kept in a JSON file of its own names the template's role by its
    ARN: the use it grants is reported, not failing; in another account, it fails."""
    text = (DATA / "resource-policy-template.yaml").read_text()
    (repo / "template.yaml").write_text(text[:text.index("      ResourcePolicy:")])
    statement = {"Sid": "HelloDeletes", "Effect": "Allow",
                 "Principal": {"AWS": ROLE}, "Action": "dynamodb:DeleteItem",
                 "Resource": TABLE}
    policy = repo / "iam" / "table-policy.json"
    policy.parent.mkdir()
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=2))
    scan = ["scan", "--traces", str(TRACE), "--policy-paths", "template.yaml",
            "--policy-paths", "iam/table-policy.json", "--format", "json"]

    assert main(scan) == 0
    report = json.loads(capsys.readouterr().out)
    [delete] = [f for f in report["findings"] if f["kind"] == "missing"]
    assert (delete["action"], delete["decision"], delete["conditional"]) == (
        "dynamodb:DeleteItem", "resource_policy", True)
    assert (delete["origin"]["file"], delete["origin"]["line"]) == ("iam/table-policy.json", 4)

    statement["Principal"] = {"AWS": ROLE.replace("112233445566", "999999999999")}
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    assert main(scan) == 1
    report = json.loads(capsys.readouterr().out)
    assert "not-identity-policy" in {w["code"] for w in report["warnings"]}
