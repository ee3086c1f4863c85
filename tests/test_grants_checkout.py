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


def test_walk_is_os_walk_without_its_recursion(tmp_path: Path) -> None:
    from leastpriv_ci.grants.checkout import walk

    _file(tmp_path / "a" / "b" / "x.json")
    _file(tmp_path / "a" / "skipped" / "y.json")
    (tmp_path / "a" / "link").symlink_to(tmp_path / "a" / "b")  # listed, not entered
    (tmp_path / "top.json").write_text("{}")
    seen = []
    for directory, dirnames, filenames in walk(tmp_path):
        dirnames[:] = [d for d in dirnames if d != "skipped"]
        seen.append((Path(directory).relative_to(tmp_path).as_posix(), sorted(dirnames),
                     sorted(filenames)))
    assert sorted(seen) == [(".", ["a"], ["top.json"]), ("a", ["b", "link"], []),
                            ("a/b", [], ["x.json"])]


def test_folders_nested_past_the_interpreter_s_stack_limit_are_walked(tmp_path: Path) -> None:
    # os.walk recursed once per level (Python 3.11): a deep folder in a pull request
    # made discovery crash with RecursionError
    import os

    from leastpriv_ci.grants.declared import discover

    here = os.getcwd()
    try:
        os.chdir(tmp_path)  # each level relative: the whole path is too long for some calls
        for _ in range(1200):
            os.mkdir("a")
            os.chdir("a")
        Path("template.yaml").write_text("{}")
    finally:
        os.chdir(here)
    try:
        [found] = discover(tmp_path)
        assert found.name == "template.yaml" and len(found.parts) > 1200
    finally:  # shutil.rmtree, which cleans tmp_path up, recurses too
        os.chdir(tmp_path)
        for _ in range(1200):
            os.chdir("a")
        os.remove("template.yaml")
        for _ in range(1200):
            os.chdir("..")
            os.rmdir("a")
        os.chdir(here)
