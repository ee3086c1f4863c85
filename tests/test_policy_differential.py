"""Differential test: this engine against an independent IAM simulator.

The oracle is ``@cloud-copilot/iam-simulate`` (a TypeScript IAM simulator), installed
from the npm registry into a cache directory at test time and run as a separate
``node`` process (``tests/differential/simulate.mjs``); nothing of it ships with the
package. Cases are generated from a fixed seed: random identity policies (Allow/Deny,
Action/NotAction, Resource/NotResource, wildcards, policy variables, conditions),
optionally a permissions boundary, and requests whose resources have the type each
action takes. The context is complete (``complete_context=True``): a key it lacks is
absent from the request, so both engines must decide every condition.
Left out, where the oracle's validation or conventions differ from IAM's grammar as this
engine reads it: wildcards in the service prefix (``s3*:*``) and short ARNs
(``arn:aws:logs:*``); both are covered by the unit tests.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from leastpriv_ci.policy.evaluate import Decision, evaluate
from leastpriv_ci.policy.parse import parse_policy

PACKAGE = "@cloud-copilot/iam-simulate@0.1.173"
SCRIPT = Path(__file__).parent / "differential" / "simulate.mjs"
CACHE = Path(os.environ.get("LEASTPRIV_ORACLE_DIR",
                            Path.home() / ".cache" / "leastpriv-ci" / "iam-simulate"))
SEED = 3
CASES = 600

ACCOUNT = "123456789012"
REQUESTS = [  # (action, resources of the type the action takes)
    ("s3:GetObject", ["arn:aws:s3:::notes/a/b.txt", "arn:aws:s3:::Notes/a.txt",
                      "arn:aws:s3:::notes/home/bob/x", "arn:aws:s3:::other/k"]),
    ("s3:PutObject", ["arn:aws:s3:::notes/a/b.txt", "arn:aws:s3:::notes/home/eve/x"]),
    ("s3:ListBucket", ["arn:aws:s3:::notes", "arn:aws:s3:::other"]),
    ("s3:ListAllMyBuckets", ["*"]),
    ("dynamodb:GetItem", [f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/notes",
                          f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/notes"]),
    ("dynamodb:Query", [f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/notes",
                        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/notes/index/byOwner"]),
    ("lambda:InvokeFunction", [f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f",
                               f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f:prod"]),
    ("sqs:SendMessage", [f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs",
                         f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs-dlq"]),
    ("logs:PutLogEvents", [f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:g:log-stream:s"]),
]
ACTION_PATTERNS = [
    "*", "s3:*", "s3:Get*", "s3:?etObject", "S3:getobject", "s3:List*", "s3express:*",
    "dynamodb:*", "dynamodb:Get*", "dynamodb:Query", "lambda:Invoke*", "lambda:*",
    "sqs:Send*", "logs:*",
]
RESOURCE_PATTERNS = [
    "*", "arn:aws:s3:::notes", "arn:aws:s3:::notes/*", "arn:aws:s3:::*",
    "arn:aws:s3:::notes/home/${aws:username}/*", "arn:aws:s3:::Notes/*",
    "arn:aws:dynamodb:us-east-1:*:*", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/notes",
    f"arn:aws:dynamodb:*:{ACCOUNT}:table/notes/index/*", "arn:aws:dynamodb:*:*:table/no?es",
    f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f", f"arn:aws:lambda:*:{ACCOUNT}:function:f:*",
    f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f*", "arn:aws:sqs:*:*:jobs",
    "arn:aws:sqs:us-east-1:*:jobs*", "arn:aws:logs:*:*:*", "arn:aws:logs:*:*:log-group:g:*",
]
CONDITIONS: list[dict[str, Any]] = [
    {"Bool": {"aws:SecureTransport": "true"}},
    {"StringEquals": {"aws:PrincipalTag/team": ["red", "green"]}},
    {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}},
    {"StringLike": {"aws:username": "b*"}},
    {"StringEqualsIfExists": {"aws:PrincipalTag/team": "red"}},
    {"Null": {"aws:PrincipalTag/team": "false"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
]


def _statement(rng: random.Random) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Deny" if rng.random() < 0.3 else "Allow"}
    actions = rng.sample(ACTION_PATTERNS, rng.randint(1, 3))
    resources = rng.sample(RESOURCE_PATTERNS, rng.randint(1, 3))
    statement["NotAction" if rng.random() < 0.15 else "Action"] = actions
    statement["NotResource" if rng.random() < 0.15 else "Resource"] = resources
    if rng.random() < 0.35:
        statement["Condition"] = rng.choice(CONDITIONS)
    return statement


def _policy(rng: random.Random, size: int) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [_statement(rng) for _ in range(size)]}


def _cases() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    cases = []
    for _ in range(CASES):
        action, resources = rng.choice(REQUESTS)
        context: dict[str, Any] = {
            "aws:SecureTransport": rng.choice(["true", "false"]),
            "aws:RequestedRegion": rng.choice(["us-east-1", "eu-west-1"]),
            "aws:username": rng.choice(["bob", "eve"]),
            "aws:MultiFactorAuthAge": rng.choice(["60", "7200"]),
        }
        for key, values in (("aws:PrincipalTag/team", ["red", "blue"]),
                            ("aws:SourceIp", ["10.1.2.3", "192.0.2.1"])):
            if rng.random() < 0.7:  # else absent: IAM's absent-key rules must decide
                context[key] = rng.choice(values)
        cases.append({
            "identity": [_policy(rng, rng.randint(1, 4)) for _ in range(rng.randint(1, 2))],
            "boundary": [_policy(rng, rng.randint(1, 2))] if rng.random() < 0.25 else None,
            "action": action,
            "resource": rng.choice(resources),
            "context": context,
        })
    return cases


@pytest.fixture(scope="module")
def oracle_root() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node/npm not installed: the differential oracle needs them")
    marker = CACHE / "node_modules" / "@cloud-copilot" / "iam-simulate" / "package.json"
    if not marker.exists() or json.loads(marker.read_text())["version"] != PACKAGE.rsplit("@")[-1]:
        CACHE.mkdir(parents=True, exist_ok=True)
        installed = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), PACKAGE],
            capture_output=True, text=True, check=False, timeout=300,
        )
        if installed.returncode != 0:
            pytest.skip(f"cannot install {PACKAGE} from npm: {installed.stderr[-300:]}")
    return CACHE


ORACLE_TO_DECISION = {
    "Allowed": Decision.ALLOW,
    "ExplicitlyDenied": Decision.EXPLICIT_DENY,
    "ImplicitlyDenied": Decision.IMPLICIT_DENY,
}


@pytest.mark.slow
def test_engine_agrees_with_independent_simulator(oracle_root: Path) -> None:
    cases = _cases()
    proc = subprocess.run(
        ["node", str(SCRIPT)], input=json.dumps(cases), capture_output=True, text=True,
        check=True, timeout=300, env={**os.environ, "IAM_SIMULATE_ROOT": str(oracle_root)},
    )
    answers = json.loads(proc.stdout)
    assert len(answers) == len(cases)
    compared, disagreements = 0, []
    for case, answer in zip(cases, answers, strict=True):
        if answer["result"] is None:
            continue  # the oracle refused the input (its own validation)
        identity = [s for i, p in enumerate(case["identity"])
                    for s in parse_policy(p, name=f"p{i}").statements]
        boundary = None
        if case["boundary"] is not None:
            boundary = [s for p in case["boundary"] for s in parse_policy(p, name="b").statements]
        ours = evaluate(identity, case["action"], case["resource"], context=case["context"],
                        boundary=boundary, complete_context=True).decision
        compared += 1
        if ours is not ORACLE_TO_DECISION[answer["result"]]:
            disagreements.append((ours.value, answer["result"], case))
    assert compared >= CASES * 0.9, f"oracle refused {CASES - compared} cases"
    assert not disagreements, json.dumps(disagreements[:3], indent=1)
