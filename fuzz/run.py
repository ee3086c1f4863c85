"""Fuzz leastpriv-ci's input handling with mutants of the repository's own test inputs.

    python fuzz/run.py grants|config|traces|policies|blocks [--seconds 60] [--seed 1] [--out DIR]

Each run mutates one input (text edits with hostile tokens, or edits of its decoded
structure, see fuzz/mutate.py) and runs the CLI on it in-process, offline (AWS sessions
are refused):

- ``grants``: infrastructure code (CloudFormation, SAM, CDK output, Serverless, Terraform,
  IAM JSON from tests/data and examples) through ``scan --compare declared``;
- ``config``: ``.leastpriv.yml`` files through ``scan``, in every report format;
- ``traces``: trace files (tests/data/traces, examples/traces) through ``observe`` or
  ``scan``;
- ``policies``: policy documents (tests/data/policy, explain, grants/iam) through
  ``explain``, with request contexts of every shape, now and then weighed as a
  resource's policy too (``--resource-policy``);
- ``blocks``: ``BatchGetTraces`` responses of many traces, mutated, read by the trace-file
  reader twice: with the Traces array decoded in small blocks, and by ijson alone. Any
  difference in traces, warnings or error is a bug (exit code -3), except that a trace
  read in a block may hold a number yajl cannot convert (an integer past 64 bits, a
  float past a double's range) where no field is read, which yajl refuses.

Exit codes 0, 1 and 2 are answers; anything else (4: an internal error, or a run past
--timeout) is a bug, and its mutant and error are kept in --out. Prints the count of each
exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fuzz import mutate  # noqa: E402
from leastpriv_ci.cli import main  # noqa: E402
from leastpriv_ci.grants.cfn_yaml import loads_cfn_yaml  # noqa: E402
from leastpriv_ci.loaders import loads_yaml  # noqa: E402

DATA = ROOT / "tests" / "data"
TRACE = DATA / "traces" / "seed-tool-trace1.json"
ROLE = DATA / "scan" / "role.json"
# Sources that stand alone: copied without the other files of their directory
ALONE = ("cfn", "iam", "scan", "notes-app")


class _Slow(BaseException):
    """A run past the timeout (not an Exception: the CLI's error boundary lets it by)."""


def _grants_sources() -> list[Path]:
    found = []
    for base in (DATA / "grants", ROOT / "examples" / "notes-app", DATA / "scan"):
        for path in sorted(base.rglob("*")):
            if (path.is_file() and path.suffix in (".yaml", ".yml", ".json", ".tf")
                    and ".aws-sam" not in path.parts and "hostile" not in path.parts
                    and not any("bomb" in part for part in path.parts)):  # refused whole
                found.append(path)
    return found


def _decoded(path: Path, text: str) -> Any:
    if path.suffix == ".json":
        return json.loads(text)
    plain_yaml = path.name.startswith(("serverless", "leastpriv")) or path.parent.name == "config"
    if plain_yaml:
        return loads_yaml(text)
    return loads_cfn_yaml(text)


def _mutant_text(path: Path, rng: random.Random) -> str:
    text = path.read_text(errors="replace")
    if path.suffix != ".tf" and rng.random() < 0.6:
        with contextlib.suppress(Exception):  # an input our own loaders refuse: edit its text
            return json.dumps(mutate.structure(_decoded(path, text), rng), default=str)
    return mutate.text(text, rng)


def _grants(work: Path, rng: random.Random) -> tuple[Path, list[str]]:
    source = rng.choice(_grants_sources())
    if source.parent.name in ALONE:
        shutil.copy(source, work / source.name)
    else:
        shutil.copytree(source.parent, work, dirs_exist_ok=True)
    target = work / source.name
    target.write_text(_mutant_text(source, rng), errors="surrogateescape")
    return target, ["scan", "--traces", str(TRACE), "--policy-paths", ".",
                    "--compare", "declared", "--format", "json"]


def _config(work: Path, rng: random.Random) -> tuple[Path, list[str]]:
    source = rng.choice([*sorted((DATA / "config").glob("*.yml")), DATA / "scan" / "leastpriv.yml"])
    shutil.copy(ROLE, work / "role.json")
    target = work / ".leastpriv.yml"
    target.write_text(_mutant_text(source, rng), errors="surrogateescape")
    return target, ["scan", "--traces", str(TRACE), "--policy-paths", "role.json", "--format",
                    rng.choice(["json", "markdown", "sarif", "text"]),
                    "--report-file", "out/report.json", "--sarif-file", "out/report.sarif"]


def _traces(work: Path, rng: random.Random) -> tuple[Path, list[str]]:
    sources = [*sorted((DATA / "traces").iterdir()),
               *sorted((ROOT / "examples" / "traces").iterdir())]
    source = rng.choice([path for path in sources if path.is_file()])
    target = work / source.name
    target.write_bytes(mutate.raw(source.read_bytes(), rng))
    if rng.random() < 0.5:
        return target, ["observe", "--traces", target.name,
                        "--format", rng.choice(["json", "text"])]
    role = json.loads(ROLE.read_text())
    if rng.random() < 0.5:  # a region guardrail: aws:RequestedRegion decided per call
        regions = rng.sample(["us-east-1", "eu-west-1", "us-west-2", "aws-global", "xx"],
                             rng.randint(1, 3))
        role["Policies"][0]["PolicyDocument"]["Statement"].append({
            "Sid": "OnlyOurRegions", "Effect": "Deny", rng.choice(["Action", "NotAction"]):
            rng.choice(["*", ["iam:*", "sts:*"]]), "Resource": "*",
            "Condition": {rng.choice(["StringNotEquals", "StringEquals"]):
                          {"aws:RequestedRegion": regions}}})
    (work / "role.json").write_text(json.dumps(role))
    return target, ["scan", "--traces", target.name, "--policy-paths", "role.json", "--format",
                    rng.choice(["json", "markdown", "sarif", "text"]),
                    "--report-file", "out/report.json"]


# Requests ``explain`` is asked about, and the context it may be given
ACTIONS = ["s3:GetObject", "s3:PutObject", "dynamodb:GetItem", "iam:PassRole", "kms:Decrypt",
           "sqs:SendMessage", "sts:AssumeRole", "s3:ListBucket", "ec2:RunInstances"]
RESOURCES = ["*", "arn:aws:s3:::bucket/home/bob/a.txt", "arn:aws:s3:::bucket",
             "arn:aws:dynamodb:us-east-1:123456789012:table/t",
             "arn:aws:iam::123456789012:role/r", "arn:aws:sqs:eu-west-1:123456789012:q"]
CONTEXTS = [None, {}, {"aws:username": "bob", "aws:CurrentTime": "2026-01-01T00:00:00Z"},
            {"aws:SourceIp": "203.0.113.7", "aws:MultiFactorAuthPresent": True},
            {"aws:RequestedRegion": "eu-west-1", "aws:PrincipalTag/team": "red"},
            {"aws:EpochTime": "1e400", "s3:prefix": ["home/", None, 1]}]
# Who makes the request, when the mutant is weighed as a resource's policy too
PRINCIPALS = ["arn:aws:iam::123456789012:role/app", "arn:aws:iam::123456789012:role/report-x",
              "arn:aws:iam::999999999999:role/app", "arn:aws:iam::123456789012:user/bob",
              "arn:aws:sts::123456789012:assumed-role/app/i-0abc"]


def _policies(work: Path, rng: random.Random) -> tuple[Path, list[str]]:
    sources = [path for folder in (DATA / "policy", DATA / "explain", DATA / "grants" / "iam")
               for path in sorted(folder.iterdir())
               if path.suffix in (".json", ".yaml") and path.stat().st_size < 200_000]
    source = rng.choice(sources)
    target = work / source.name
    target.write_text(_mutant_text(source, rng), errors="surrogateescape")
    argv = ["explain", "--policy", target.name, "--action", rng.choice(ACTIONS),
            "--resource", rng.choice(RESOURCES), "--format", rng.choice(["json", "text"])]
    context = rng.choice(CONTEXTS)
    if context is not None:
        argv += ["--context", json.dumps(context)]
    if rng.random() < 0.3:
        argv.append("--complete-context")
    if rng.random() < 0.3:
        argv += ["--resource-policy", target.name, "--principal", rng.choice(PRINCIPALS)]
        if rng.random() < 0.3:  # the mutant as the boundary too: grants past it, NotPrincipal
            argv += ["--boundary", target.name]
    return target, argv


def _blocks(work: Path, rng: random.Random) -> tuple[Path, list[str]]:
    sources = [json.loads(TRACE.read_text()), *json.loads(
        (DATA / "traces" / "batch-get-traces.json").read_text())["Traces"]]
    traces = [rng.choice(sources) for _ in range(rng.randint(2, 40))]
    text = json.dumps({"Traces": traces, "UnprocessedTraceIds": []},
                      indent=rng.choice([None, 1, 2])).encode()
    for _ in range(rng.choice([0, 1, 1, 2, 3])):  # unchanged now and then: read whole
        text = mutate.raw(text, rng)
    target = work / "response.json"
    target.write_bytes(text)
    return target, [str(rng.choice([1024, 4096, 16 * 1024]))]


def _read_traces(path: Path) -> object:
    from leastpriv_ci.errors import UserError
    from leastpriv_ci.notices import Notices
    from leastpriv_ci.traces.files import iter_files

    notices = Notices()
    try:
        return list(iter_files([path], notices)), notices.items()
    except UserError as error:
        return str(error)


def _out_of_range(path: Path) -> bool:
    """Whether yajl refuses the file for a number it cannot convert (an integer past 64
    bits, a float past a double's range), which JSON allows and a block skips where no
    field is read (docs/traces.md)."""
    import ijson

    try:
        with path.open("rb") as stream:
            for _ in ijson.get_backend("yajl2_c").basic_parse(stream, use_float=True,
                                                               multiple_values=True):
                pass
    except ijson.JSONError as error:
        return "overflow" in str(error)
    return False


def _same_either_way(path: Path, argv: list[str]) -> tuple[int, str]:
    """A file read with its Traces array decoded in blocks and by ijson alone."""
    import re

    from leastpriv_ci.traces import blocks, files

    saved = blocks.BLOCK_BYTES, files.OPENING
    blocks.BLOCK_BYTES = int(argv[0])
    try:
        by_blocks = _read_traces(path)
        files.OPENING = re.compile(rb"(?!)")
        by_ijson = _read_traces(path)
    finally:
        blocks.BLOCK_BYTES, files.OPENING = saved
    if by_blocks != by_ijson and not (isinstance(by_ijson, str) and _out_of_range(path)):
        return -3, f"in blocks: {str(by_blocks)[:1500]}\nby ijson: {str(by_ijson)[:1500]}"
    return (2 if isinstance(by_blocks, str) else 0), ""


TARGETS: dict[str, Callable[[Path, random.Random], tuple[Path, list[str]]]] = {
    "grants": _grants, "config": _config, "traces": _traces, "policies": _policies,
    "blocks": _blocks}
# Targets checked in-process rather than through the CLI
CHECKS: dict[str, Callable[[Path, list[str]], tuple[int, str]]] = {"blocks": _same_either_way}


def _run_once(argv: list[str], timeout: int) -> tuple[int, str]:
    def slow(_signum: int, _frame: FrameType | None) -> None:
        raise _Slow

    err = io.StringIO()
    signal.signal(signal.SIGALRM, slow)
    signal.alarm(timeout)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = main(argv)
    except _Slow:
        code, _ = -1, err.write(f"past the {timeout} s timeout")
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 2
    except BaseException as exc:  # anything out of main is the finding
        code, _ = -2, err.write(repr(exc))
    finally:
        signal.alarm(0)
    return code, err.getvalue()


def _run_check(check: Callable[[Path, list[str]], tuple[int, str]], target: Path,
               argv: list[str], timeout: int) -> tuple[int, str]:
    def slow(_signum: int, _frame: FrameType | None) -> None:
        raise _Slow

    signal.signal(signal.SIGALRM, slow)
    signal.alarm(timeout)
    try:
        return check(target, argv)
    except _Slow:
        return -1, f"past the {timeout} s timeout"
    except BaseException as exc:  # anything out of the check is the finding
        return -2, repr(exc)
    finally:
        signal.alarm(0)


def main_loop(kind: str, seconds: float, seed: int, out: Path, timeout: int) -> dict[int, int]:
    rng = random.Random(seed)
    make = TARGETS[kind]
    codes: dict[int, int] = {}
    end = time.monotonic() + seconds
    runs = 0
    out.mkdir(parents=True, exist_ok=True)
    while time.monotonic() < end:
        runs += 1
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            target, argv = make(work, rng)
            here = Path.cwd()
            os.chdir(work)
            try:
                if kind in CHECKS:
                    code, err = _run_check(CHECKS[kind], target, argv, timeout)
                else:
                    code, err = _run_once(argv, timeout)
            finally:
                os.chdir(here)
            codes[code] = codes.get(code, 0) + 1
            if runs % 100 == 0:
                # A run is a process of its own in use: the reference cycles of its errors
                # (exceptions and their frames) would otherwise pile up here for minutes
                gc.collect()
            if code not in (0, 1, 2):
                kept = out / f"{kind}-{seed}-{runs}-{target.name}"
                shutil.copy(target, kept)
                kept.with_name(kept.name + ".err").write_text(f"{' '.join(argv)}\n{err[-4000:]}")
    return codes


def main_cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(TARGETS))
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=30, help="seconds a run may take")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "leastpriv-fuzz")
    args = parser.parse_args()
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                     "AWS_PROFILE", "GITHUB_TOKEN"):
        os.environ.pop(variable, None)
    import boto3.session

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the fuzz runs offline: no AWS session")

    boto3.session.Session.__init__ = refuse  # type: ignore[method-assign]
    codes = main_loop(args.kind, args.seconds, args.seed, args.out, args.timeout)
    bugs = sum(n for code, n in codes.items() if code not in (0, 1, 2))
    print(f"{args.kind} seed {args.seed}: {sum(codes.values())} runs, exit codes "
          f"{dict(sorted(codes.items()))}, {bugs} kept in {args.out}")
    sys.exit(1 if bugs else 0)


if __name__ == "__main__":
    main_cli()
