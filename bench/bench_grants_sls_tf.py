"""Serverless and Terraform sources on generated inputs: statements/s and peak RSS.

Deterministic data: a serverless.yml with N functions (half with per-function roles and
variables), a Terraform module with N roles in the three policy styles, a plan JSON with
N roles, and a checkout of N/2 Terraform function modules (a role, a policy and a function
each, plus a file of variables) called from one root module, read by discovery. Run:
``python bench/bench_grants_sls_tf.py [N]``.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from leastpriv_ci.catalog import get_catalog
from leastpriv_ci.grants.declared import discover, load_declared
from leastpriv_ci.grants.model import GrantSet, ResolveContext
from leastpriv_ci.grants.sources import serverless, terraform, terraform_plan
from leastpriv_ci.notices import Notices


def serverless_yml(n: int) -> str:
    lines = ["service: bench", "plugins: [serverless-iam-roles-per-function]",
             "custom:", "  table: ${self:service}-${sls:stage}-t", "provider:", "  name: aws",
             "  iam:", "    role:", "      statements:",
             "        - Effect: Allow", "          Action: [dynamodb:GetItem]",
             "          Resource: arn:aws:dynamodb:${aws:region}:${aws:accountId}:table/"
             "${self:custom.table}", "functions:"]
    for i in range(n):
        lines += [f"  f{i}:", f"    handler: h.f{i}"]
        if i % 2:
            lines += ["    iamRoleStatements:", "      - Effect: Allow",
                      "        Action: [s3:GetObject, s3:PutObject]",
                      f"        Resource: arn:aws:s3:::${{self:service}}-{i}/*"]
    return "\n".join(lines) + "\n"


TF_ROLE = """
resource "aws_s3_bucket" "b{i}" {{
  bucket = "bench-{i}"
}}
data "aws_iam_policy_document" "d{i}" {{
  statement {{
    actions   = ["sqs:SendMessage"]
    resources = ["arn:aws:sqs:us-east-1:123456789012:q{i}"]
  }}
}}
resource "aws_iam_policy" "p{i}" {{
  name   = "p{i}"
  policy = data.aws_iam_policy_document.d{i}.json
}}
resource "aws_iam_role" "r{i}" {{
  name = "role-{i}"
  inline_policy {{
    name = "inline"
    policy = jsonencode({{
      Version = "2012-10-17"
      Statement = [{{ Effect = "Allow", Action = ["s3:GetObject"],
                     Resource = "${{aws_s3_bucket.b{i}.arn}}/*" }}]
    }})
  }}
}}
resource "aws_iam_role_policy" "h{i}" {{
  role   = aws_iam_role.r{i}.id
  policy = <<POLICY
{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "s3:ListBucket",
  "Resource": "${{aws_s3_bucket.b{i}.arn}}"}}]}}
POLICY
}}
resource "aws_iam_role_policy_attachment" "a{i}" {{
  role       = aws_iam_role.r{i}.name
  policy_arn = aws_iam_policy.p{i}.arn
}}
"""


def terraform_tf(n: int) -> str:
    return "".join(TF_ROLE.format(i=i) for i in range(n))


def plan_json(n: int) -> str:
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}]})
    resources = [
        {"address": f"aws_iam_role.r{i}", "mode": "managed", "type": "aws_iam_role",
         "name": f"r{i}", "values": {"name": f"role-{i}",
                                     "inline_policy": [{"name": "p", "policy": doc}]}}
        for i in range(n)
    ]
    return json.dumps({"format_version": "1.2", "terraform_version": "1.9.5",
                       "planned_values": {"root_module": {"resources": resources}}})


FUNCTION_MODULE = """\
variable "name" {}
resource "aws_iam_role" "this" {
  name = "${var.name}-role"
}
resource "aws_iam_role_policy" "data" {
  role   = aws_iam_role.this.id
  policy = jsonencode({Version = "2012-10-17", Statement = [{Effect = "Allow",
    Action = "dynamodb:GetItem", Resource = [for t in ["a", "b"] :
      "arn:aws:dynamodb:eu-west-1:123456789012:table/${var.name}-${t}"]}]})
}
resource "aws_lambda_function" "this" {
  function_name = var.name
  role          = aws_iam_role.this.arn
}
"""


def module_checkout(root: Path, n: int) -> None:
    (root / ".git").mkdir()
    calls = []
    for i in range(n):
        module = root / "modules" / f"fn{i}"
        module.mkdir(parents=True)
        (module / "main.tf").write_text(FUNCTION_MODULE)
        (module / "variables.tf").write_text(
            "".join(f'variable "v{k}" {{\n  default = {k}\n}}\n' for k in range(20)))
        calls.append(f'module "fn{i}" {{\n  source = "./modules/fn{i}"\n  name = "fn{i}"\n}}\n')
    (root / "main.tf").write_text("".join(calls))


def modules(root: Path, context: ResolveContext, notices: Notices) -> GrantSet:
    return load_declared(discover(root), context, notices, root=root)


Loader = Callable[[Path, ResolveContext, Notices], GrantSet]


def measure(label: str, load: Loader, path: Path) -> None:
    start = time.perf_counter()
    grants = load(path, ResolveContext(), Notices())
    elapsed = time.perf_counter() - start
    statements = sum(len(r.statements) for r in grants.roles.values())
    size = sum(p.stat().st_size for p in path.rglob("*.tf")) if path.is_dir() \
        else path.stat().st_size
    print(f"{label:<11} {size / 1e6:6.2f} MB {len(grants.roles):6d} roles "
          f"{statements:7d} statements {elapsed:7.2f} s {statements / elapsed:9.0f} statements/s")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    start = time.perf_counter()
    get_catalog()  # loaded once per process; statement parsing checks actions against it
    print(f"catalog load {time.perf_counter() - start:.2f} s (once per process)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "serverless.yml").write_text(serverless_yml(n))
        (root / "main.tf").write_text(terraform_tf(n))
        (root / "plan.json").write_text(plan_json(n))
        measure("serverless", serverless.load, root / "serverless.yml")
        measure("terraform", terraform.load, root / "main.tf")
        measure("plan", terraform_plan.load, root / "plan.json")
        (root / "checkout").mkdir()
        module_checkout(root / "checkout", n // 2)
        measure("tf modules", modules, root / "checkout")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
