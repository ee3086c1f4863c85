"""Serverless variables: sources, defaults, nesting, and the bounds on hostile configs."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from leastpriv_ci.cli import main
from leastpriv_ci.errors import UserError
from leastpriv_ci.grants.checkout import repository_root
from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.grants.serverless_vars import VariableResolver
from leastpriv_ci.grants.sources import serverless
from leastpriv_ci.loaders import loads_yaml
from leastpriv_ci.notices import Notices

DATA = Path(__file__).parent / "data" / "grants" / "serverless"
CASES = DATA / "cases"


@contextmanager
def _within(seconds: int) -> Iterator[None]:
    """Fail, rather than hang, when the block runs longer than ``seconds``."""
    def expired(signum: int, frame: FrameType | None) -> None:
        raise AssertionError(f"took longer than {seconds}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _resolver(text: str, tmp_path: Path, stage: str | None = None) -> VariableResolver:
    path = tmp_path / "serverless.yml"
    path.write_text(text)
    return VariableResolver(document=loads_yaml(text), path=path, root=tmp_path,
                            region="eu-west-1", account="111122223333", notices=Notices(),
                            stage=stage)


def _value(text: str, tmp_path: Path, address: str, stage: str | None = None) -> Any:
    return _resolver(text, tmp_path, stage).get(address)


def test_self_opt_sls_aws_sources(tmp_path: Path) -> None:
    text = (
        "service: shop\nprovider:\n  stage: ${opt:stage, 'qa'}\n"
        "custom:\n  name: ${self:service}-${sls:stage}\n"
        "  arn: arn:aws:sqs:${aws:region}:${aws:accountId}:${self:custom.name}\n"
        "  region: ${opt:region}\n"
    )
    assert _value(text, tmp_path, "custom.arn") == "arn:aws:sqs:eu-west-1:111122223333:shop-qa"
    assert _value(text, tmp_path, "custom.arn", stage="prod").endswith(":shop-prod")
    assert _value(text, tmp_path, "custom.region") == "eu-west-1"


def test_stage_defaults_to_dev(tmp_path: Path) -> None:
    assert _value("custom:\n  s: ${sls:stage}\n", tmp_path, "custom.s") == "dev"
    assert _value("custom:\n  s: ${opt:stage}\n", tmp_path, "custom.s") == "dev"


def test_defaults_nested_variables_and_typed_values(tmp_path: Path) -> None:
    text = (
        "custom:\n  stages:\n    dev: {table: t-dev}\n"
        "  table: ${self:custom.stages.${sls:stage}.table}\n"
        "  missing: ${self:custom.nope, self:custom.table}\n"
        "  literal: ${self:custom.nope, 'fallback, with comma'}\n"
        "  statements: ${self:custom.list}\n"
        "  list:\n    - {Effect: Allow}\n"
        "  sub: arn:aws:s3:::${AWS::Region}-${Bucket}\n"
    )
    resolver = _resolver(text, tmp_path)
    assert resolver.get("custom.table") == "t-dev"
    assert resolver.get("custom.missing") == "t-dev"
    assert resolver.get("custom.literal") == "fallback, with comma"
    statements = resolver.get("custom.statements")
    assert statements == [{"Effect": "Allow"}]
    assert statements[0].line == 9  # the mapping keeps its line through resolution
    # Fn::Sub syntax is left for CloudFormation.
    assert resolver.get("custom.sub") == "arn:aws:s3:::${AWS::Region}-${Bucket}"


def test_remote_and_environment_sources_stay_unresolved(tmp_path: Path) -> None:
    resolver = _resolver(
        "custom:\n  a: ${ssm:/x/y}\n  b: arn:${cf:stack.Output}\n  c: ${env:HOME}\n"
        "  d: ${sls:instanceId}\n  e: ${param:key, 'p'}\n", tmp_path)
    assert resolver.get("custom.a") == "<unresolved:${ssm:/x/y}>"
    assert resolver.get("custom.b") == "<unresolved:${cf:stack.Output}>"
    assert resolver.get("custom.c") == "<unresolved:${env:HOME}>"
    assert resolver.get("custom.d") == "<unresolved:${sls:instanceId}>"
    assert resolver.get("custom.e") == "p"  # a default still applies
    assert resolver.notices.count("serverless-env-variable") == 1
    assert resolver.notices.count("serverless-remote-variable") == 3


def test_file_variables_inside_the_repository(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "dev.yml").write_text("bucket: b-${sls:stage}\nnested: {k: v}\n")
    text = "custom:\n  b: ${file(./config/${sls:stage}.yml):bucket}\n" \
           "  k: ${file(./config/dev.yml):nested.k}\n"
    resolver = _resolver(text, tmp_path)
    assert resolver.get("custom.b") == "b-dev"
    assert resolver.get("custom.k") == "v"


def test_hostile_config_is_bounded_and_warned() -> None:
    path = DATA / "hostile" / "serverless.yml"
    notices = Notices()
    grants = serverless.load(path, ResolveContext(), notices)
    role = grants.roles["arn:aws:iam::123456789012:role/hostile-dev-us-east-1-lambdaRole"]
    resources = {s.actions[0]: s.resources[0] for s in role.statements}
    assert resources["s3:GetObject"].startswith("<unresolved:")  # a ↔ c cycle
    assert resources["s3:PutObject"].startswith("<unresolved:")  # 4^10 expansion
    assert resources["ssm:GetParameter"].startswith("<unresolved:")  # outside the repo
    assert resources["sqs:SendMessage"].startswith("<unresolved:")  # a script is never run
    assert resources["kms:Decrypt"] == "<unresolved:${env:KMS_KEY_ARN}>"
    for code in ("serverless-variable-cycle", "serverless-variable-limit",
                 "serverless-file-outside-repo", "serverless-file-not-data",
                 "serverless-env-variable"):
        assert notices.count(code) >= 1, code


def test_repository_root_is_the_folder_with_git(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "svc").mkdir()
    assert repository_root(tmp_path / "svc" / "serverless.yml") == tmp_path.resolve()


@pytest.mark.parametrize(("case", "named"), [
    ("alias_bomb", "serverless.yml"),  # [*h, *h, …] nine deep, in the file itself
    ("file_alias_bomb", "buckets.yml"),  # the same, read through ${file(./buckets.yml)}
    ("list_bomb", "serverless.yml"),  # self: lists of lists, 4^10 values
])
def test_a_value_expanding_past_the_limit_is_an_error_naming_the_file(
    case: str, named: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copytree(CASES / case, tmp_path / "repo")
    (tmp_path / "repo" / ".git").mkdir()
    monkeypatch.chdir(tmp_path / "repo")
    with _within(20):
        code = main(["scan", "--traces", "traces.json", "--policy-paths", "serverless.yml",
                     "--format", "json", "--account", "123456789012"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "serverless.yml" in err and named in err
    assert "more than 100000 values" in err and "alias" in err


def test_shared_alias_nodes_are_resolved_once(tmp_path: Path) -> None:
    # 8^5 values once expanded: under the limit, but only cheap if each alias is done once.
    text = "custom:\n  a: &a [x, y, z, '${sls:stage}', x, y, z, x]\n"
    for level in "bcde":
        text += f"  {level}: &{level} [{', '.join(['*' + chr(ord(level) - 1)] * 8)}]\n"
    resolver = _resolver(text, tmp_path)
    with _within(20):
        value = resolver.get("custom.e")
    assert value[7][7][7][7] == ["x", "y", "z", "dev", "x", "y", "z", "x"]
    assert value[0] is value[7]  # one resolved value, shared like the YAML node


def test_a_file_document_past_the_limit_is_not_caught_per_value(tmp_path: Path) -> None:
    shutil.copy(CASES / "file_alias_bomb" / "buckets.yml", tmp_path / "buckets.yml")
    resolver = _resolver("custom:\n  x: ${file(./buckets.yml):buckets}\n"
                         "  y: ${file(./buckets.yml):e}\n", tmp_path)
    with _within(20):
        assert len(resolver.get("custom.y")) == 9  # 9^5 values: under the limit
        with pytest.raises(UserError, match=r"buckets\.yml\) expands to more than"):
            resolver.resolve(resolver.document)
