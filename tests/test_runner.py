"""The runner contract: outputs file, step summary, workflow-command escaping, masks."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from leastpriv_ci.runner import (
    SUMMARY_LIMIT,
    Annotation,
    append_summary,
    command,
    emit_annotations,
    mask,
    set_outputs,
    stop_commands,
)


def parse_output_file(text: str) -> dict[str, str]:
    """Parse $GITHUB_OUTPUT the way the runner does (heredoc form and name=value)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            body = []
            i += 1
            while lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
        i += 1
    return values


def test_outputs_survive_multiline_values_and_delimiter_lookalikes(tmp_path: Path) -> None:
    out = tmp_path / "output"
    out.write_text("earlier=kept\n")
    hostile = "line one\nEOF\nghadelimiter_\nverdict<<EOF\nlast"
    set_outputs({"verdict": "fail", "policy": hostile}, {"GITHUB_OUTPUT": str(out)})
    text = out.read_text()
    assert parse_output_file(text) == {"earlier": "kept", "verdict": "fail", "policy": hostile}
    delimiters = re.findall(r"^(?:verdict|policy)<<(ghadelimiter_[0-9a-f]{32})$", text, re.M)
    assert len(delimiters) == 2
    assert len(set(delimiters)) == 2  # a fresh random delimiter per value


def test_outputs_without_output_file_write_nothing(tmp_path: Path) -> None:
    set_outputs({"verdict": "pass"}, {})
    assert list(tmp_path.iterdir()) == []


def test_output_names_with_newlines_are_rejected(tmp_path: Path) -> None:
    from leastpriv_ci.errors import UserError

    with pytest.raises(UserError, match="output name"):
        set_outputs({"a\nb": "x"}, {"GITHUB_OUTPUT": str(tmp_path / "o")})


def test_summary_is_appended(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    append_summary("# one", env)
    append_summary("two\n", env)
    assert summary.read_text() == "# one\ntwo\n"


def test_summary_is_capped_under_one_mebibyte_with_a_note(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("already here\n")
    row = "| `s3:GetObject` | arn:aws:s3:::bucket/ключ | excess |\n"
    big = row * (SUMMARY_LIMIT // len(row.encode()) + 100)
    append_summary(big, {"GITHUB_STEP_SUMMARY": str(summary)})
    data = summary.read_bytes()
    assert len(data) < SUMMARY_LIMIT
    text = data.decode("utf-8")  # never cut inside a multi-byte character
    assert text.startswith("already here\n| `s3:GetObject`")
    assert "truncated" in text.splitlines()[-1]
    # Whole rows only: every table line is complete.
    assert all(line.endswith("|") for line in text.splitlines() if line.startswith("| "))


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("100% used", "::warning::100%25 used"),
        ("a\r\nb", "::warning::a%0D%0Ab"),
        ("a:b,c", "::warning::a:b,c"),  # data keeps : and ,
    ],
)
def test_command_escapes_data(message: str, expected: str) -> None:
    assert command("warning", message) == expected


def test_command_escapes_properties() -> None:
    line = command("error", "m", file="dir/a,b:c%.yml", line=12, title="x\ny")
    assert line == "::error file=dir/a%2Cb%3Ac%25.yml,line=12,title=x%0Ay::m"


def test_annotation_cannot_forge_a_second_command() -> None:
    hostile = "ok\n::add-mask::secret\n::set-output name=verdict::pass"
    line = Annotation("error", hostile, "template.yaml", 3, "excess").to_command()
    assert "\n" not in line
    assert line.count("::") == 2 + hostile.count("::")  # only the real command's own "::"
    assert line.startswith("::error file=template.yaml,line=3,title=excess::ok%0A::add-mask")


def test_annotations_most_severe_first_and_capped_per_level() -> None:
    annotations = [Annotation("notice", f"n{i}", None, None, "t") for i in range(3)]
    annotations += [Annotation("warning", f"w{i}", "f.yml", i + 1, "t") for i in range(12)]
    annotations += [Annotation("error", f"e{i}", "f.yml", i + 1, "t") for i in range(11)]
    out = io.StringIO()
    emit_annotations(annotations, limit_per_level=10, out=out)
    lines = out.getvalue().splitlines()
    levels = [line.split(" ", 1)[0].split("::")[1] for line in lines]
    assert levels[:10] == ["error"] * 10
    assert levels[10:20] == ["warning"] * 10
    assert levels[20:23] == ["notice"] * 3
    assert lines[0].endswith("::e0")
    assert "3 more finding(s)" in lines[-1]  # 1 error + 2 warnings dropped
    assert len(lines) == 24


def test_annotation_levels_are_checked() -> None:
    with pytest.raises(ValueError, match="level"):
        Annotation("fatal", "m", None, None, "t")


def test_mask_emits_add_mask_for_each_line() -> None:
    out = io.StringIO()
    mask("AKIA123\nsecret%part", out=out)
    assert out.getvalue() == "::add-mask::AKIA123\n::add-mask::secret%25part\n"


def test_stop_commands_wraps_hostile_text_with_an_unguessable_token() -> None:
    out = io.StringIO()
    with stop_commands(out=out) as token:
        out.write("::set-output name=verdict::pass\n")
        out.write("::endtoken::\n")
    lines = out.getvalue().splitlines()
    assert lines[0] == f"::stop-commands::{token}"
    assert lines[-1] == f"::{token}::"
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    with stop_commands(out=io.StringIO()) as other:
        assert other != token


def test_stop_commands_resumes_even_on_error() -> None:
    out = io.StringIO()
    with pytest.raises(RuntimeError), stop_commands(out=out) as token:
        raise RuntimeError("boom")
    assert out.getvalue().endswith(f"::{token}::\n")


def test_the_closing_notice_and_reserved_slots_fit_under_the_runners_caps() -> None:
    # The runner keeps 10 errors, 10 warnings and 10 notices per step: the closing notice
    # must be one of the 10 notices, and a reserved warning slot must stay free.
    annotations = [Annotation("warning", f"w{i}", "f.yml", i + 1, "t") for i in range(12)]
    annotations += [Annotation("notice", f"n{i}", "f.yml", i + 1, "t") for i in range(12)]
    out = io.StringIO()
    emit_annotations(annotations, reserve={"warning": 1}, out=out)
    lines = out.getvalue().splitlines()
    levels = [line.split(" ", 1)[0].split("::")[1] for line in lines]
    assert levels.count("warning") == 9
    assert levels.count("notice") == 10
    assert "6 more finding(s)" in lines[-1]  # 3 warnings + 3 notices


def test_no_closing_notice_means_no_notice_slot_is_taken() -> None:
    annotations = [Annotation("notice", f"n{i}", "f.yml", i + 1, "t") for i in range(10)]
    out = io.StringIO()
    emit_annotations(annotations, out=out)
    assert out.getvalue().count("::notice ") == 10
    assert "more finding(s)" not in out.getvalue()
