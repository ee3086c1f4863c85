"""entrypoint.py: the runner's environment → ``leastpriv-ci scan`` arguments (and subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from leastpriv_ci.cli import build_parser
from tests.conftest import REAL_TRACE
from tests.github_server import GitHubServer, Identity
from tests.test_runner import parse_output_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import entrypoint  # noqa: E402 - the repository root is not a package

EVENTS = Path(__file__).parent / "data" / "action" / "events"



def options(argv: list[str]) -> list[tuple[str, str]]:
    """The ``--name=value`` options of an argument vector, in order."""
    return [tuple(a.split("=", 1)) for a in argv[2:]]  # type: ignore[misc]

def test_hyphenated_inputs_become_long_options() -> None:
    environ = {
        "INPUT_ROLE-TO-ASSUME": "arn:aws:iam::123456789012:role/reader",
        "INPUT_AWS-REGION": "eu-west-1",
        "INPUT_FAIL-ON": "missing,denied",
        "INPUT_COMMENT": "update",
        "INPUT_MAX-EXCESS": "0",
        "INPUT_STACK-NAME": "notes-staging",
    }
    argv = entrypoint.scan_argv(environ)
    assert argv[:2] == ["scan", "--github-actions"]
    assert dict(options(argv)) == {
        "--role-to-assume": "arn:aws:iam::123456789012:role/reader",
        "--aws-region": "eu-west-1",
        "--fail-on": "missing,denied",
        "--comment": "update",
        "--max-excess": "0",  # "0" is a value, not "unset"
        "--stack-name": "notes-staging",
    }


def test_underscore_spelling_is_accepted_and_blank_means_unset() -> None:
    environ = {"INPUT_ROLE_TO_ASSUME": "arn:aws:iam::1:role/r", "INPUT_AWS-REGION": "  ",
               "INPUT_XRAY-GROUP": ""}
    assert entrypoint.scan_argv(environ) == [
        "scan", "--github-actions", "--role-to-assume=arn:aws:iam::1:role/r"]


def test_hyphenated_spelling_wins_over_underscore() -> None:
    environ = {"INPUT_COMPARE": "attached", "INPUT_COMMENT-KEY": "a", "INPUT_COMMENT_KEY": "b"}
    assert dict(options(entrypoint.scan_argv(environ)))["--comment-key"] == "a"


def test_list_inputs_split_on_newlines_and_commas() -> None:
    environ = {"INPUT_TRACE-FILES": "traces/a.json\ntraces/b.json, traces/c.json\n\n",
               "INPUT_POLICY-PATHS": "template.yaml"}
    assert options(entrypoint.scan_argv(environ)) == [
        ("--trace-files", "traces/a.json"), ("--trace-files", "traces/b.json"),
        ("--trace-files", "traces/c.json"), ("--policy-paths", "template.yaml")]


def test_since_is_ignored_with_a_start_time_as_documented() -> None:
    argv = entrypoint.scan_argv({"INPUT_SINCE": "2h", "INPUT_START-TIME": "2026-01-01T00:00Z"})
    assert options(argv) == [("--start-time", "2026-01-01T00:00Z")]
    assert options(entrypoint.scan_argv({"INPUT_SINCE": "2h"})) == [("--since", "2h")]


def test_settle_time_is_passed_for_the_x_ray_api_only() -> None:
    """The input's default (30s) must not turn a trace-files run into an input error."""
    defaults = action_defaults("token")
    environ = {f"INPUT_{k.upper()}": v for k, v in defaults.items()}
    assert dict(options(entrypoint.scan_argv(environ)))["--settle-time"] == "30s"
    with_files = {**environ, "INPUT_TRACE-FILES": "traces.json"}
    assert "--settle-time" not in dict(options(entrypoint.scan_argv(with_files)))
    assert "--settle-time" not in dict(options(entrypoint.scan_argv(
        {**environ, "INPUT_SETTLE-TIME": "0"})))


def test_values_with_spaces_and_quotes_stay_one_argument() -> None:
    expression = 'annotation.stack = "app-pr-7" AND service("orders")'
    argv = entrypoint.scan_argv({"INPUT_FILTER-EXPRESSION": expression})
    assert options(argv) == [("--filter-expression", expression)]


def test_a_value_beginning_with_a_dash_stays_that_input_s_value() -> None:
    # "--comment-key -eu-west-1" would make argparse read -eu-west-1 as an option
    argv = entrypoint.scan_argv({"INPUT_COMMENT-KEY": "-eu-west-1"})
    args = build_parser().parse_args(argv)
    assert args.comment_key == "-eu-west-1"


def test_token_moves_to_the_environment_never_argv() -> None:
    environ = {"INPUT_GITHUB-TOKEN": "ghs_secret", "INPUT_COMMENT": "update"}
    entrypoint.prepare_environment(environ)
    assert environ == {"INPUT_COMMENT": "update", "LEASTPRIV_GITHUB_TOKEN": "ghs_secret"}
    assert "ghs_secret" not in entrypoint.scan_argv(environ)


def test_workspace_defaults_to_the_runner_mount(tmp_path: Path) -> None:
    assert entrypoint.workspace({"GITHUB_WORKSPACE": str(tmp_path)}) == tmp_path
    expected = Path("/github/workspace") if Path("/github/workspace").is_dir() else None
    assert entrypoint.workspace({}) == expected


def runner_environment(tmp_path: Path, **inputs: str) -> dict[str, str]:
    """What a runner gives a container action, minus the inputs' defaults."""
    (tmp_path / "workspace").mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("INPUT_", "GITHUB_", "AWS_"))}
    env.update({
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(tmp_path / "workspace"),
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(EVENTS / "pull_request.json"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_WORKFLOW": "CI", "GITHUB_JOB": "gate", "GITHUB_RUN_ID": "42",
    })
    env.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    return env


def run_entrypoint(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "entrypoint.py"), *args], env=env,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_entrypoint_with_arguments_runs_the_plain_cli(tmp_path: Path) -> None:
    result = run_entrypoint(runner_environment(tmp_path), "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: leastpriv-ci")
    assert "exit codes:" in result.stdout


def test_entrypoint_rejects_a_missing_workspace(tmp_path: Path) -> None:
    env = runner_environment(tmp_path)
    env["GITHUB_WORKSPACE"] = str(tmp_path / "nope")
    result = run_entrypoint(env)
    assert result.returncode == 2
    assert "cannot enter the workspace" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_input_error_still_sets_the_verdict_output(tmp_path: Path) -> None:
    env = runner_environment(tmp_path, **{"compare": "sideways", "github-token": "ghs_x"})
    (tmp_path / "output").write_text("earlier=1\n")
    result = run_entrypoint(env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "ghs_x" not in result.stdout + result.stderr
    text = (tmp_path / "output").read_text()
    assert text.startswith("earlier=1\nverdict<<ghadelimiter_")
    assert "\nerror\n" in text


SCAN_DATA = Path(__file__).parent / "data" / "scan"
SHARED_TRACE = REAL_TRACE


def action_defaults(token: str, matrix: str = "null") -> dict[str, str]:
    """Every input with its action.yml default, as the runner passes them: ``matrix`` is
    what ``toJSON(matrix)`` gives (``null`` outside a matrix job)."""
    spec = yaml.safe_load((ROOT / "action.yml").read_text())
    return {
        name: str(entry.get("default", "")).replace("${{ github.token }}", token)
        .replace("${{ toJSON(matrix) }}", matrix)
        for name, entry in spec["inputs"].items()
    }


def test_every_expression_in_an_input_default_is_one_the_tests_evaluate() -> None:
    assert "${{" not in "".join(action_defaults("token").values())


@pytest.fixture
def pull_request_run(tmp_path: Path, github: GitHubServer) -> dict[str, str]:
    """A runner environment for an offline scan of pull request octo/app#7."""
    github.state.tokens["gh-secret-token"] = Identity("github-actions[bot]", type="Bot",
                                                      installation=True)
    github.state.add_pull("octo/app", 7)
    inputs = action_defaults("gh-secret-token")
    inputs.update({"trace-files": str(SHARED_TRACE), "policy-paths": "role.json",
                   "comment-key": "us-east-1"})
    env = runner_environment(tmp_path, **inputs)
    env["GITHUB_API_URL"] = github.api_url
    workspace = Path(env["GITHUB_WORKSPACE"])
    shutil.copy(SCAN_DATA / "role.json", workspace / "role.json")
    shutil.copy(SCAN_DATA / "leastpriv.yml", workspace / ".leastpriv.yml")
    for name in ("output", "summary.md"):
        (tmp_path / name).touch()
    return env


def test_runner_contract_offline_pull_request(
    tmp_path: Path, github: GitHubServer, pull_request_run: dict[str, str]
) -> None:
    assert "INPUT_ROLE-TO-ASSUME" in pull_request_run  # hyphenated, as the runner sends them
    result = run_entrypoint(pull_request_run)
    assert result.returncode == 1, result.stderr  # a missing permission fails the gate
    assert "Traceback" not in result.stderr
    assert "gh-secret-token" not in result.stdout + result.stderr
    assert "failed with 403" not in result.stderr  # GET /user's refusal is expected

    outputs = parse_output_file((tmp_path / "output").read_text())
    [comment] = github.state.comments_on("octo/app", 7)
    assert outputs == {
        "verdict": "fail", "excess-count": "2", "missing-count": "1", "denied-count": "0",
        "report-file": "leastpriv-report.json", "sarif-file": "leastpriv.sarif",
        "policy-file": "leastpriv-policy.json",
        "comment-url": f"http://github.local/octo/app/pull/7#issuecomment-{comment['id']}",
    }
    workspace = Path(pull_request_run["GITHUB_WORKSPACE"])
    report = json.loads((workspace / "leastpriv-report.json").read_text())
    assert report["verdict"] == "fail" and report["counts"]["missing"] == 1
    assert json.loads((workspace / "leastpriv.sarif").read_text())["version"] == "2.1.0"
    assert (workspace / "leastpriv-policy.json").is_file()
    assert (tmp_path / "summary.md").read_text().startswith("### leastpriv-ci")

    assert comment["body"].startswith("<!-- leastpriv-ci:CI/gate/us-east-1 -->\n")
    assert "dynamodb:DeleteItem" in comment["body"]
    assert {r.authorization for r in github.state.requests} == {"token gh-secret-token"}
    assert "::add-mask::" not in result.stdout  # offline: no credential was ever obtained

    # The next push of the same pull request: the same comment, untouched when unchanged.
    (tmp_path / "output").write_text("")
    again = run_entrypoint(pull_request_run)
    assert again.returncode == 1
    assert [w.method for w in github.state.writes()] == ["POST"]
    assert parse_output_file((tmp_path / "output").read_text())["comment-url"] == \
        outputs["comment-url"]


def test_matrix_jobs_without_a_comment_key_keep_a_comment_each(
    tmp_path: Path, github: GitHubServer, pull_request_run: dict[str, str]
) -> None:
    """Matrix jobs share the workflow and job id: their matrix values tell them apart."""
    outputs = tmp_path / "output"
    urls = []
    for region in ("us-east-1", "eu-west-1", "us-east-1"):
        # toJSON(matrix) as the runner evaluates the input's default
        matrix = json.dumps({"region": region, "stage": "staging"}, indent=2)
        env = {**pull_request_run, "INPUT_COMMENT-KEY": "", "INPUT_MATRIX": matrix}
        outputs.write_text("")
        result = run_entrypoint(env)
        assert result.returncode == 1, result.stderr
        urls.append(parse_output_file(outputs.read_text())["comment-url"])
    comments = github.state.comments_on("octo/app", 7)
    assert [c["body"].split("\n", 1)[0] for c in comments] == [
        "<!-- leastpriv-ci:CI/gate/us-east-1%2C%20staging -->",
        "<!-- leastpriv-ci:CI/gate/eu-west-1%2C%20staging -->"]
    assert [c["body"].split("\n", 2)[1] for c in comments] == [  # Markdown-escaped
        "### leastpriv-ci (us\\-east\\-1, staging): ❌ fail",
        "### leastpriv-ci (eu\\-west\\-1, staging): ❌ fail"]
    assert urls[0] == urls[2] != urls[1]  # the first job's next run found its own comment
    summary = (tmp_path / "summary.md").read_text()
    assert "### leastpriv-ci (us\\-east\\-1, staging): ❌ fail" in summary

    # Outside a matrix (toJSON gives null) the key stays empty
    outputs.write_text("")
    result = run_entrypoint({**pull_request_run, "INPUT_COMMENT-KEY": ""})
    assert result.returncode == 1, result.stderr
    assert github.state.comments_on("octo/app", 7)[-1]["body"].startswith(
        "<!-- leastpriv-ci:CI/gate/ -->\n### leastpriv-ci: ❌ fail")


def test_a_matrix_input_that_is_not_json_is_an_input_error(
    tmp_path: Path, pull_request_run: dict[str, str]
) -> None:
    env = {**pull_request_run, "INPUT_COMMENT-KEY": "", "INPUT_MATRIX": "us-east-1"}
    result = run_entrypoint(env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "matrix: the matrix input is not JSON" in result.stdout + result.stderr
    assert "leave it at its default" in result.stdout + result.stderr


def test_runner_contract_fork_pull_request(
    tmp_path: Path, github: GitHubServer, pull_request_run: dict[str, str]
) -> None:
    env = {**pull_request_run, "GITHUB_EVENT_PATH": str(EVENTS / "pull_request_fork.json")}
    result = run_entrypoint(env)
    assert result.returncode == 1  # the gate is unchanged
    assert "::warning title=leastpriv-ci::no pull-request comment: pull requests from forks" \
        in result.stdout
    outputs = parse_output_file((tmp_path / "output").read_text())
    assert outputs["verdict"] == "fail"
    assert outputs["comment-url"] == ""
    assert github.state.comments_on("octo/app", 7) == []
    assert (tmp_path / "summary.md").read_text().startswith("### leastpriv-ci")


def test_runner_contract_role_without_id_token_permission(
    tmp_path: Path, pull_request_run: dict[str, str]
) -> None:
    env = {**pull_request_run, "INPUT_ROLE-TO-ASSUME": "arn:aws:iam::123456789012:role/r",
           "INPUT_TRACE-FILES": "", "INPUT_AWS-REGION": "us-east-1"}
    result = run_entrypoint(env)
    assert result.returncode == 2
    assert "permissions: id-token: write" in result.stderr
    assert "Traceback" not in result.stderr
    assert parse_output_file((tmp_path / "output").read_text())["verdict"] == "error"


def test_runner_contract_fork_with_a_role_says_why(
    tmp_path: Path, pull_request_run: dict[str, str]
) -> None:
    env = {**pull_request_run, "INPUT_ROLE-TO-ASSUME": "arn:aws:iam::123456789012:role/r",
           "INPUT_TRACE-FILES": "", "INPUT_AWS-REGION": "us-east-1",
           "GITHUB_EVENT_PATH": str(EVENTS / "pull_request_fork.json")}
    result = run_entrypoint(env)
    assert result.returncode == 0  # degraded with a notice, not failed
    assert "::warning title=leastpriv-ci::leastpriv-ci skipped" in result.stdout
    assert "pull requests from forks and Dependabot get no OIDC token" in result.stdout
    assert "Traceback" not in result.stderr
    assert parse_output_file((tmp_path / "output").read_text())["verdict"] == "skipped"
    assert (tmp_path / "summary.md").read_text().startswith("### leastpriv-ci: skipped")


def test_the_default_config_file_input_is_optional() -> None:
    # action.yml's default reaches every run: it must not make .leastpriv.yml mandatory.
    assert options(entrypoint.scan_argv({"INPUT_CONFIG-FILE": ".leastpriv.yml"})) == []
    assert options(entrypoint.scan_argv({"INPUT_CONFIG_FILE": "./.leastpriv.yml"})) == []
    argv = entrypoint.scan_argv({"INPUT_CONFIG-FILE": "ci/leastpriv.yml"})
    assert options(argv) == [("--config-file", "ci/leastpriv.yml")]


def test_runner_contract_without_a_config_file(
    tmp_path: Path, github: GitHubServer, pull_request_run: dict[str, str]
) -> None:
    workspace = Path(pull_request_run["GITHUB_WORKSPACE"])
    (workspace / ".leastpriv.yml").unlink()
    (workspace / "map.json").write_text(json.dumps(
        {"nodejs-test-dev-hello": "arn:aws:iam::112233445566:role/hello-role"}))
    result = run_entrypoint({**pull_request_run, "INPUT_PRINCIPAL-MAP": "map.json"})
    assert result.returncode == 1, result.stderr  # the gate ran: a missing permission
    assert "config file not found" not in result.stderr
    assert parse_output_file((tmp_path / "output").read_text())["verdict"] == "fail"


def test_runner_contract_checkout_under_a_sub_path(
    tmp_path: Path, github: GitHubServer, pull_request_run: dict[str, str]
) -> None:
    # actions/checkout with `path: app`: the repository's iam/role.json is read from
    # app/iam/role.json, but GitHub places annotations, SARIF and links by iam/role.json.
    workspace = Path(pull_request_run["GITHUB_WORKSPACE"])
    repository = workspace / "app"
    (repository / ".git").mkdir(parents=True)
    (repository / "iam").mkdir()
    (workspace / "role.json").rename(repository / "iam" / "role.json")
    result = run_entrypoint({**pull_request_run, "INPUT_POLICY-PATHS": "app/iam/role.json"})
    assert result.returncode == 1, result.stderr

    annotated = [line.split("::")[1] for line in result.stdout.splitlines()
                 if line.startswith(("::error ", "::warning ", "::notice ")) and "file=" in line]
    assert annotated and all(" file=iam/role.json," in a for a in annotated)
    sarif = json.loads((workspace / "leastpriv.sarif").read_text())
    uris = {location["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["runs"][0]["results"] for location in r["locations"]}
    assert "iam/role.json" in uris and not any(u.startswith("app/") for u in uris)
    [comment] = github.state.comments_on("octo/app", 7)
    assert "/blob/" in comment["body"]
    assert "/iam/role.json#L" in comment["body"] and "/app/iam/role.json" not in comment["body"]
    # ... and the link text names the file as the repository does, too
    summary = Path(pull_request_run["GITHUB_STEP_SUMMARY"]).read_text()
    for body in (comment["body"], summary):
        assert "[iam/role\\.json\\:" in body and "[app/iam/role" not in body
    # The tool still reads and reports the file where it is.
    report = json.loads((workspace / "leastpriv-report.json").read_text())
    assert report["coverage"]["policy_files"] == ["app/iam/role.json"]


def _run_in_process(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """entrypoint.main() with ``env`` as the process environment (restored afterwards)."""
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LEASTPRIV_GITHUB_TOKEN", raising=False)  # restored after main()
    monkeypatch.chdir(ROOT)
    code = entrypoint.main([])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_bug_is_an_internal_error_not_a_failed_gate(
    tmp_path: Path, pull_request_run: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    import leastpriv_ci.commands.scan as scan

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("gh-secret-token\n::set-output name=verdict::pass 100%")

    monkeypatch.setattr(scan, "build_report", broken)
    code, out, err = _run_in_process(pull_request_run, monkeypatch, capsys)
    assert code == 4
    assert parse_output_file((tmp_path / "output").read_text()) == {"verdict": "error"}
    [error] = [line for line in out.splitlines() if line.startswith("::error")]
    assert error.startswith("::error title=leastpriv-ci internal error::leastpriv-ci internal "
                            "error (a bug in leastpriv-ci")
    assert "KeyError: " in error and "pass 100%25" in error  # escaped for the runner
    assert "https://github.com/leastpriv-ci/leastpriv-ci/issues" in error
    assert not any(line.startswith("::set-output") for line in (out + err).splitlines())
    # The traceback, for the bug report, with workflow commands suspended around it.
    lines = err.splitlines()
    assert lines[0].startswith("::stop-commands::")
    assert lines[-1] == f"::{lines[0].removeprefix('::stop-commands::')}::"
    assert lines[1] == "Traceback (most recent call last):"
    assert "gh-secret-token" not in out + err  # the token is never printed


def test_a_bug_after_the_verdict_was_written_still_ends_with_verdict_error(
    tmp_path: Path, pull_request_run: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    import leastpriv_ci.publish as publish

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(publish, "emit_annotations", broken)
    code, out, _ = _run_in_process(pull_request_run, monkeypatch, capsys)
    assert code == 4
    text = (tmp_path / "output").read_text()
    assert "\nfail\n" in text  # written before the bug struck; the runner keeps the last
    assert parse_output_file(text)["verdict"] == "error"
    assert "ZeroDivisionError: division by zero" in out


def test_runner_contract_offline_with_a_role_says_it_is_not_assumed(
    tmp_path: Path, pull_request_run: dict[str, str]
) -> None:
    env = {**pull_request_run, "INPUT_ROLE-TO-ASSUME": "arn:aws:iam::123456789012:role/r"}
    result = run_entrypoint(env)
    assert result.returncode == 1, result.stderr  # the gate's verdict, not an input error
    notices = [line for line in result.stdout.splitlines() if line.startswith("::notice")]
    assert notices[0] == ("::notice title=leastpriv-ci::role-to-assume is not assumed: with "
                          "trace-files and compare: declared nothing reads from AWS "
                          "(role-duration-seconds, role-session-name, audience and "
                          "allowed-account-ids are unused too)")
    assert "::add-mask::" not in result.stdout  # no OIDC token was asked for
    assert parse_output_file((tmp_path / "output").read_text())["verdict"] == "fail"


def test_runner_contract_base_ref_in_a_checkout_owned_by_the_runner_s_user(
    tmp_path: Path, github: GitHubServer, pull_request_run: dict[str, str]
) -> None:
    # The container runs as root; the checkout belongs to the runner's user (uid 1001),
    # which git refuses as "dubious ownership" unless told the repository is safe.
    workspace = Path(pull_request_run["GITHUB_WORKSPACE"])
    role = json.loads((workspace / "role.json").read_text())
    head_text = (workspace / "role.json").read_text()
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    base = {**role, "Policies": [{**role["Policies"][0], "PolicyDocument": {
        "Version": "2012-10-17", "Statement": statements[:3]}}]}
    (workspace / "role.json").write_text(json.dumps(base, indent=2))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false"]
    for command in (["git", "init", "-q"], [*git, "add", "role.json"],
                    [*git, "commit", "-qm", "base"]):
        subprocess.run(command, cwd=workspace, check=True)
    base_sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=workspace, check=True,
                              capture_output=True, text=True).stdout.strip()
    (workspace / "role.json").write_text(head_text)  # the pull request adds a statement
    if os.getuid() == 0:  # as in the container: someone else's checkout
        for path in [workspace, *workspace.rglob("*")]:
            os.chown(path, 1001, 1001, follow_symlinks=False)
        refused = subprocess.run(["git", "-C", str(workspace), "ls-tree", "HEAD"],
                                 capture_output=True, text=True,
                                 env={**os.environ, "HOME": str(tmp_path)})
        assert "dubious ownership" in refused.stderr  # the situation this test is about
    result = run_entrypoint({**pull_request_run, "INPUT_BASE-REF": base_sha,
                             "HOME": str(tmp_path)})
    assert result.returncode == 1, result.stderr
    [comment] = github.state.comments_on("octo/app", 7)
    assert "IAM changes in this pull request (1 role(s))" in comment["body"]
    assert "- Allow `sqs:SendMessage`" in comment["body"]


def test_runner_contract_a_pull_request_that_loosens_its_own_gate_is_named(
    tmp_path: Path, github: GitHubServer, pull_request_run: dict[str, str]
) -> None:
    """The pull request's ignore rule passes the check its base fails: the comment, the
    job summary and a warning annotation say so."""
    workspace = Path(pull_request_run["GITHUB_WORKSPACE"])
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false"]
    for command in (["git", "init", "-q"], [*git, "add", "-A"], [*git, "commit", "-qm", "b"]):
        subprocess.run(command, cwd=workspace, check=True)
    with (workspace / ".leastpriv.yml").open("a") as config:
        config.write("ignore:\n  - action: 'dynamodb:Delete*'\n    reason: soon\n")
    result = run_entrypoint({**pull_request_run, "INPUT_BASE-REF": "HEAD",
                             "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    [comment] = github.state.comments_on("octo/app", 7)
    summary = (tmp_path / "summary.md").read_text()
    for body in (comment["body"], summary):
        assert "⚠️ **This pull request changes the settings that gate it**, in " \
            "`.leastpriv.yml`:\n- ignore: `0 rules` → `1 rule, new: .leastpriv.yml:4 " \
            "(action dynamodb:Delete*, resource *)`" in body
        assert "With the base commit's settings this check **fails**: 1 missing" in body
    assert ("::warning file=.leastpriv.yml,title=leastpriv-ci::This pull "
            "request changes the settings that gate it: ignore: 0 rules → 1 rule, new: "
            ".leastpriv.yml:4 (action dynamodb:Delete*, resource *). With the base commit's "
            "settings this check fails.") in result.stdout.splitlines()


def test_runner_contract_never_writes_through_links_the_pull_request_holds(
    tmp_path: Path, github: GitHubServer, pull_request_run: dict[str, str]
) -> None:
    # A pull request commits its report paths as links to the runner's own files.
    workspace = Path(pull_request_run["GITHUB_WORKSPACE"])
    event = tmp_path / "event.json"
    event.write_text((EVENTS / "pull_request.json").read_text())
    victims = {}
    for name in ("leastpriv-policy.json", "leastpriv-report.json", "leastpriv.sarif"):
        victim = tmp_path / f"victim-{name}"
        victim.write_text("ORIGINAL\n")
        victims[name] = victim
        (workspace / name).symlink_to(victim)
    (workspace / "leastpriv-policy.json").unlink()
    (workspace / "leastpriv-policy.json").symlink_to(event)
    victims["leastpriv-policy.json"] = event
    result = run_entrypoint({**pull_request_run, "GITHUB_EVENT_PATH": str(event)})
    assert result.returncode == 1, result.stderr
    assert event.read_text() == (EVENTS / "pull_request.json").read_text()
    for name, victim in victims.items():
        assert victim.read_text() in ("ORIGINAL\n", event.read_text())
        assert not (workspace / name).is_symlink()  # the link itself was replaced
    assert json.loads((workspace / "leastpriv-policy.json").read_text())
    assert json.loads((workspace / "leastpriv.sarif").read_text())["version"] == "2.1.0"
    assert len(github.state.comments_on("octo/app", 7)) == 1  # the event still read right


def test_runner_contract_a_folder_at_the_policy_path_is_an_input_error(
    tmp_path: Path, github: GitHubServer, pull_request_run: dict[str, str]
) -> None:
    workspace = Path(pull_request_run["GITHUB_WORKSPACE"])
    (workspace / "leastpriv-policy.json").mkdir()
    (workspace / "leastpriv-policy.json" / "keep").write_text("")
    result = run_entrypoint(pull_request_run)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    message = ("cannot write the proposed policy file leastpriv-policy.json: it is a folder; "
               "the action writes its proposed policy to leastpriv-policy.json: rename or "
               "remove what the repository holds at that path")
    assert f"leastpriv-ci: error: {message}" in result.stderr
    assert f"::error title=leastpriv-ci::{message}" in result.stdout
    # Everything else was written first.
    assert json.loads((workspace / "leastpriv-report.json").read_text())["verdict"] == "fail"
    assert json.loads((workspace / "leastpriv.sarif").read_text())["version"] == "2.1.0"
    assert (tmp_path / "summary.md").read_text().startswith("### leastpriv-ci")
    assert len(github.state.comments_on("octo/app", 7)) == 1
    outputs = parse_output_file((tmp_path / "output").read_text())
    assert outputs["report-file"] == "leastpriv-report.json" and "policy-file" not in outputs


def test_runner_contract_an_input_error_still_writes_report_summary_and_error(
    tmp_path: Path, pull_request_run: dict[str, str]
) -> None:
    workspace = Path(pull_request_run["GITHUB_WORKSPACE"])
    (workspace / "role.json").write_text('{"Statement": [}')  # the PR broke its policy file
    result = run_entrypoint(pull_request_run)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [error] = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert "role.json" in error
    outputs = parse_output_file((tmp_path / "output").read_text())
    assert outputs == {"verdict": "error", "report-file": "leastpriv-report.json"}
    report = json.loads((workspace / "leastpriv-report.json").read_text())
    assert report["verdict"] == "error" and report["error"]["exit_code"] == 2
    assert "role.json" in report["error"]["message"]
    assert report["findings"] == []
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("### leastpriv-ci: ⚠️ error\n\nThe scan stopped on its input: ")
    assert "Fix the file, line or setting the message names" in summary


def test_runner_contract_an_error_after_the_outputs_ends_with_verdict_error(
    tmp_path: Path, pull_request_run: dict[str, str]
) -> None:
    summary = Path(pull_request_run["GITHUB_STEP_SUMMARY"])
    summary.unlink()
    summary.mkdir()  # the summary cannot be written: exit 2, after verdict=fail was set
    result = run_entrypoint(pull_request_run)
    assert result.returncode == 2, result.stderr
    assert "cannot write GITHUB_STEP_SUMMARY file" in result.stderr
    text = (tmp_path / "output").read_text()
    assert "\nfail\n" in text  # written first; the runner keeps the last value
    assert parse_output_file(text)["verdict"] == "error"


@pytest.fixture
def xray_denying() -> Iterator[str]:
    """An X-Ray endpoint that answers every call with AccessDeniedException."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Denying(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = json.dumps({"__type": "AccessDeniedException", "Message": (
                "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: "
                "xray:GetTraceSummaries")}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-amzn-ErrorType", "AccessDeniedException")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Denying)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_runner_contract_a_failed_aws_call_still_writes_report_summary_and_error(
    tmp_path: Path, pull_request_run: dict[str, str], xray_denying: str
) -> None:
    env = {**pull_request_run, "INPUT_TRACE-FILES": "", "INPUT_SINCE": "30m",
           "INPUT_AWS-REGION": "us-east-1", "INPUT_ENDPOINT-URL": xray_denying,
           "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-example",
           "AWS_EC2_METADATA_DISABLED": "true"}
    result = run_entrypoint(env)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    [error] = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert error.startswith("::error title=leastpriv-ci::the scanning role is not allowed to "
                            "call X-Ray GetTraceSummaries")
    outputs = parse_output_file((tmp_path / "output").read_text())
    assert outputs == {"verdict": "error", "report-file": "leastpriv-report.json"}
    workspace = Path(env["GITHUB_WORKSPACE"])
    report = json.loads((workspace / "leastpriv-report.json").read_text())
    assert report["schema"] == 1 and report["verdict"] == "error"
    assert report["error"]["exit_code"] == 3
    assert report["error"]["message"].startswith("the scanning role is not allowed")
    assert report["reasons"][0] == report["error"]["message"]
    assert report["findings"] == [] and report["counts"] == {}
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("### leastpriv-ci: ⚠️ error\n\nAn AWS call failed: ")
    assert "grant it to the role the action uses" in summary


@pytest.mark.parametrize(("fail_on", "code", "level", "verdict"), [
    ("missing", 1, "error", "fail"),
    ("none", 0, "warning", "pass"),  # a shadow run: said, not gated
])
def test_a_run_that_verified_nothing_says_so_in_an_annotation(
    tmp_path: Path, github: GitHubServer, pull_request_run: dict[str, str],
    fail_on: str, code: int, level: str, verdict: str,
) -> None:
    workspace = Path(pull_request_run["GITHUB_WORKSPACE"])
    (workspace / "empty.json").write_text('{"Traces": []}')
    result = run_entrypoint({**pull_request_run, "INPUT_TRACE-FILES": "empty.json",
                             "INPUT_FAIL-ON": fail_on})
    assert result.returncode == code, result.stderr
    assert (f"::{level} title=leastpriv-ci%3A nothing verified::No traces were read: "
            "nothing was verified") in result.stdout
    assert parse_output_file((tmp_path / "output").read_text())["verdict"] == verdict


def test_runner_contract_fork_without_a_role_or_credentials_is_skipped(
    tmp_path: Path, pull_request_run: dict[str, str]
) -> None:
    # Keys from secrets, which a fork's pull request does not get: degrade, do not fail
    env = {**pull_request_run, "INPUT_TRACE-FILES": "", "INPUT_AWS-REGION": "us-east-1",
           "GITHUB_EVENT_PATH": str(EVENTS / "pull_request_fork.json"),
           "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
           "AWS_EC2_METADATA_DISABLED": "true"}
    result = run_entrypoint(env)
    assert result.returncode == 0, result.stdout  # degraded with a notice, not failed
    assert "pull requests from forks and Dependabot get no secrets" in result.stdout
    assert parse_output_file((tmp_path / "output").read_text())["verdict"] == "skipped"
    # the same run in the base repository's own pull request is an input error
    env["GITHUB_EVENT_PATH"] = str(EVENTS / "pull_request.json")
    result = run_entrypoint(env)
    assert result.returncode == 2
    assert "no AWS credentials found" in result.stdout + result.stderr


@pytest.mark.parametrize(("name", "value"), [
    ("sarif-file", "../out.sarif"),
    ("report-file", "/home/runner/work/app/app/report.json"),  # ${{ github.workspace }}/…
])
def test_a_report_file_outside_the_workspace_is_an_input_error(
    tmp_path: Path, pull_request_run: dict[str, str], name: str, value: str
) -> None:
    result = run_entrypoint({**pull_request_run, f"INPUT_{name.upper()}": value})
    assert result.returncode == 2, result.stdout
    assert f"input {name}" in result.stdout and "outside the workspace" in result.stdout
    assert not (tmp_path / "out.sarif").exists()
    assert parse_output_file((tmp_path / "output").read_text())["verdict"] == "error"
    assert "Traceback" not in result.stderr
