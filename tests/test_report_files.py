"""report/files.py: report files are written whole, never through a link."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from leastpriv_ci.errors import UserError
from leastpriv_ci.report.files import write_atomically


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "checkout").mkdir()
    monkeypatch.chdir(tmp_path / "checkout")
    return tmp_path / "checkout"


def test_a_link_at_the_destination_is_replaced_not_followed(checkout: Path) -> None:
    target = checkout.parent / "runner-file"
    target.write_text("ORIGINAL\n")
    (checkout / "out.json").symlink_to(target)
    write_atomically(Path("out.json"), "{}\n", what="the report file", remedy="fix it")
    assert target.read_text() == "ORIGINAL\n"
    assert not (checkout / "out.json").is_symlink()
    assert (checkout / "out.json").read_text() == "{}\n"


def test_a_linked_folder_on_the_way_is_refused(checkout: Path) -> None:
    (checkout.parent / "elsewhere").mkdir()
    (checkout / "reports").symlink_to(checkout.parent / "elsewhere")
    with pytest.raises(UserError, match=r"reports is a symbolic link.*; name another"):
        write_atomically(Path("reports/out.json"), "{}\n", what="the report file",
                         remedy="name another file")
    assert list((checkout.parent / "elsewhere").iterdir()) == []


def test_a_folder_at_the_destination_is_an_input_error(checkout: Path) -> None:
    (checkout / "out.json").mkdir()
    with pytest.raises(UserError) as raised:
        write_atomically(Path("out.json"), "{}\n", what="the report file", remedy="fix it")
    assert str(raised.value) == "cannot write the report file out.json: it is a folder; fix it"
    assert raised.value.exit_code == 2


def test_the_file_is_readable_by_later_steps_and_no_temporary_is_left(checkout: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_atomically(Path("deep/er/out.json"), "x", what="the report file", remedy="-")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((checkout / "deep/er/out.json").stat().st_mode) == 0o644
    assert [p.name for p in (checkout / "deep/er").iterdir()] == ["out.json"]
