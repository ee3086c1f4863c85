"""A release's action.yml pulls the image the release workflow pushed, pinned by digest."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from scripts.pin_action_image import PinError, pinned
from tests.test_action_lint import ROOT, run, tool

IMAGE = "ghcr.io/octo/leastpriv-ci"
DIGEST = "sha256:" + "0123456789abcdef" * 4


def test_only_the_image_line_changes_and_the_result_is_valid_action_metadata(
    tmp_path: Path,
) -> None:
    original = (ROOT / "action.yml").read_text()
    text = pinned(original, IMAGE, DIGEST)
    changed = [(a, b) for a, b in zip(original.splitlines(), text.splitlines(), strict=True)
               if a != b]
    assert changed == [("  image: Dockerfile", f"  image: docker://{IMAGE}@{DIGEST}")]
    assert yaml.safe_load(text)["runs"] == {"using": "docker",
                                            "image": f"docker://{IMAGE}@{DIGEST}"}
    (tmp_path / "action.yml").write_text(text)
    result = run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions",
                  str(tmp_path / "action.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("image", "digest", "says"), [
    ("ghcr.io/Octo/leastpriv-ci", DIGEST, "not a name such as"),  # registries want lower case
    (f"{IMAGE}:1.0.0", DIGEST, "not a name such as"),  # a tag can move: the digest pins
    ("leastpriv-ci", DIGEST, "not a name such as"),
    (IMAGE, "sha256:abc", "not one such as"),
    (IMAGE, "0123456789abcdef" * 4, "not one such as"),
])
def test_what_cannot_be_pinned_is_refused(image: str, digest: str, says: str) -> None:
    with pytest.raises(PinError, match=says):
        pinned((ROOT / "action.yml").read_text(), image, digest)


def test_an_action_pinned_already_is_not_pinned_again() -> None:
    once = pinned((ROOT / "action.yml").read_text(), IMAGE, DIGEST)
    with pytest.raises(PinError, match="already pinned"):
        pinned(once, IMAGE, DIGEST)


def test_the_release_workflow_s_pin_step_pins_a_copy_of_the_repository(
    tmp_path: Path,
) -> None:
    """The step's own shell, run where the workflow runs it: the repository's root."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    [step] = [s for s in workflow["jobs"]["release"]["steps"]
              if s.get("name") == "Pin action.yml to the image"]
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "IMAGE": IMAGE, "DIGEST": DIGEST}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", step["run"]], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    runs = yaml.safe_load((tmp_path / "action.yml").read_text())["runs"]
    assert runs["image"] == f"docker://{IMAGE}@{DIGEST}"

    again = subprocess.run(["bash", "-euo", "pipefail", "-c", step["run"]], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2
    assert again.stderr == ("action.yml has no line '  image: Dockerfile' to replace "
                            "(already pinned?)\n")
