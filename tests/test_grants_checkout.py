"""The checkout: which files belong to it, and their paths in the repository that holds them."""

from __future__ import annotations

from pathlib import Path

from leastpriv_ci.grants.checkout import repository_path, repository_paths


def _file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    return path


def test_a_checkout_under_a_sub_path_names_files_from_its_own_root(tmp_path: Path) -> None:
    # actions/checkout with `path: app`: workspace tmp_path, repository tmp_path/app
    (tmp_path / "app" / ".git").mkdir(parents=True)
    _file(tmp_path / "app" / "iam" / "role.json")
    assert repository_path("app/iam/role.json", tmp_path) == "iam/role.json"
    assert repository_path(str(tmp_path / "app" / "iam" / "role.json"), tmp_path) == \
        "iam/role.json"


def test_a_scan_from_a_sub_folder_names_files_from_the_repository_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    _file(tmp_path / "infra" / "role.json")
    assert repository_path("role.json", tmp_path / "infra") == "infra/role.json"


def test_paths_stay_as_they_are_without_a_repository_or_a_file(tmp_path: Path) -> None:
    _file(tmp_path / "app" / "role.json")
    assert repository_path("app/role.json", tmp_path) == "app/role.json"  # no .git anywhere
    (tmp_path / "app" / ".git").mkdir()
    # the workflow file named from GITHUB_WORKFLOW_REF is not under the workspace root
    assert repository_path(".github/workflows/gate.yml", tmp_path) == \
        ".github/workflows/gate.yml"


def test_repository_paths_answers_each_path_once(tmp_path: Path) -> None:
    (tmp_path / "app" / ".git").mkdir(parents=True)
    role = _file(tmp_path / "app" / "role.json")
    locate = repository_paths(tmp_path)
    assert locate("app/role.json") == "role.json"
    role.unlink()
    assert locate("app/role.json") == "role.json"  # remembered, not looked up again
