"""Benchmark: a 5 MB CloudFormation template with 500 roles, and a 2,000-file repository.

Targets (issue 4): the template parses and resolves in under 2 s; the repository is
discovered and filtered in under 1 s. Data is generated deterministically.

    python bench/bench_grants.py
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.grants.declared import discover, source_for
from leastpriv_ci.grants.model import ResolveContext
from leastpriv_ci.grants.sources import cloudformation
from leastpriv_ci.notices import Notices

ROLES = 500
TARGET_BYTES = 5 * 1024 * 1024


def yaml_template(roles: int, statements: int) -> str:
    lines = [
        'AWSTemplateFormatVersion: "2010-09-09"',
        "Parameters:",
        "  Stage: {Type: String, Default: dev}",
        "Conditions:",
        "  IsProd: !Equals [!Ref Stage, prod]",
        "Resources:",
    ]
    for r in range(roles):
        lines += [
            f"  Table{r}:",
            "    Type: AWS::DynamoDB::Table",
            f"    Properties: {{TableName: !Sub 'table-{r}-${{Stage}}'}}",
            f"  Role{r}:",
            "    Type: AWS::IAM::Role",
            "    Properties:",
            f"      RoleName: !Sub 'role-{r}-${{Stage}}'",
            "      ManagedPolicyArns:",
            "        - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "      Policies:",
            f"        - PolicyName: p{r}",
            "          PolicyDocument:",
            "            Version: 2012-10-17",
            "            Statement:",
        ]
        for s in range(statements):
            lines += [
                f"              - Sid: S{s}",
                "                Effect: Allow",
                "                Action: [dynamodb:GetItem, dynamodb:Query, dynamodb:PutItem]",
                "                Resource:",
                f"                  - !GetAtt Table{r}.Arn",
                f"                  - !Sub '${{Table{r}.Arn}}/index/*'",
                "                  - !If [IsProd, !Sub 'arn:${AWS::Partition}:s3:::b-"
                f"{s}/*', !Join ['', ['arn:aws:s3:::dev-{s}/', !Ref AWS::Region, '/*']]]",
            ]
        lines += [
            f"  Fn{r}:",
            "    Type: AWS::Lambda::Function",
            "    Properties:",
            f"      FunctionName: fn-{r}",
            f"      Role: !GetAtt Role{r}.Arn",
        ]
    return "\n".join(lines) + "\n"


def sized(render: Callable[[int], str]) -> str:
    statements = 1
    text = render(statements)
    while len(text) < TARGET_BYTES:
        statements += 1
        text = render(statements)
    return text


def json_template(statements: int) -> str:
    """The same template as CDK writes it: JSON, one-space indent."""
    from leastpriv_ci.grants.cfn_yaml import loads_cfn_yaml

    return json.dumps(loads_cfn_yaml(yaml_template(ROLES, statements)), indent=1)


def bench_template(path: Path) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    notices = Notices()
    grants = cloudformation.load(path, ResolveContext(), notices)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    statements = sum(len(role.statements) for role in grants.roles.values())
    size = path.stat().st_size
    print(f"{path.suffix[1:]:>4} template: {size / 1e6:.1f} MB, {len(grants.roles)} roles, "
          f"{statements} statements in {elapsed:.2f} s, CPU {cpu:.2f} s "
          f"({size / 1e6 / elapsed:.1f} MB/s, {statements / elapsed:,.0f} statements/s) "
          f"{'OK' if elapsed < 2 else 'OVER 2 s'}")


def make_repository(root: Path) -> int:
    files = 0
    layout = {
        "src/pkg{i}/module{j}.py": "def f():\n    return 1\n",
        "node_modules/dep{i}/template.yaml": "Resources: {}\n",
        "docs/page{i}-{j}.md": "# doc\n",
        "config/app{i}-{j}.yaml": "name: app\nsettings: {debug: true}\n",
        "services/svc{i}/template.yaml": "Resources:\n  R:\n    Type: AWS::IAM::Role\n",
        "iam/team{i}/policy{j}.json": '{"Version": "2012-10-17", "Statement": []}',
        "infra/mod{i}/main{j}.tf": 'resource "aws_iam_role" "r" {}\n',
    }
    i = 0
    while files < 2000:
        for pattern, text in layout.items():
            for j in range(3):
                path = root / pattern.format(i=i, j=j)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                files += 1
        i += 1
    return files


def bench_repository() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        files = make_repository(root)
        start = time.perf_counter()
        found = discover(root)
        recognised = [path for path in found if source_for(path) is not None]
        elapsed = time.perf_counter() - start
    print(f"repository: {files} files → {len(found)} candidates → {len(recognised)} recognised "
          f"in {elapsed:.3f} s ({files / elapsed:,.0f} files/s) "
          f"{'OK' if elapsed < 1 else 'OVER 1 s'}")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        yaml_path = Path(folder) / "template.yaml"
        yaml_path.write_text(sized(lambda n: yaml_template(ROLES, n)))
        json_path = Path(folder) / "template.json"
        json_path.write_text(sized(json_template))
        start = time.perf_counter()
        get_catalog()
        print(f"IAM catalog (loaded once per process, used to check actions): "
              f"{time.perf_counter() - start:.2f} s")
        bench_template(json_path)
        bench_template(yaml_path)
    bench_repository()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()
