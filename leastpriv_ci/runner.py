"""The GitHub Actions runner contract: output and summary files, workflow commands.

Everything here writes to files the runner names in the environment or to a stream,
never to the network. Escaping follows the runner's own rules (``toCommandValue`` /
``escapeProperty`` in ``@actions/core``) so that text from traces or pull-request files
cannot forge a workflow command.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from leastpriv_ci.errors import UserError

# GitHub drops a step summary larger than 1 MiB entirely; stay clearly below it.
SUMMARY_LIMIT = 1024 * 1024
SUMMARY_TRUNCATED_NOTE = (
    "\n\n> **Note:** this summary was truncated to stay under GitHub's 1 MiB step-summary "
    "limit; the full report is in the JSON report file.\n"
)
ANNOTATION_LEVELS = ("error", "warning", "notice")


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int) -> str:
    """One workflow command line (``::name k=v,...::message``), escaped per the runner's rules.

    Properties whose value is ``None``-like (empty string) are dropped, because the
    runner treats ``file=`` as a file named "".
    """
    props = ",".join(
        f"{key}={_escape_property(str(value))}"
        for key, value in properties.items()
        if str(value) != ""
    )
    head = f"::{name} {props}" if props else f"::{name}"
    return f"{head}::{_escape_data(message)}"


def mask(value: str, out: TextIO | None = None) -> None:
    """Ask the runner to mask ``value`` in every later log line (each line of it)."""
    stream = out if out is not None else sys.stdout
    for line in value.splitlines() or [value]:
        if line.strip():
            stream.write(command("add-mask", line) + "\n")
    stream.flush()


@contextmanager
def stop_commands(out: TextIO | None = None) -> Iterator[str]:
    """Suspend workflow-command processing while untrusted text is printed.

    Yields the random resume token; a pull request cannot guess it, so it cannot end
    the suspension early and inject ``::set-output``/``::add-mask`` lines of its own.
    """
    stream = out if out is not None else sys.stdout
    token = secrets.token_hex(16)
    stream.write(f"::stop-commands::{token}\n")
    stream.flush()
    try:
        yield token
    finally:
        stream.write(f"::{token}::\n")
        stream.flush()


def _command_file(environ: Mapping[str, str], variable: str) -> Path | None:
    value = environ.get(variable, "")
    return Path(value) if value else None


def set_outputs(values: Mapping[str, str], environ: Mapping[str, str]) -> None:
    """Append step outputs to ``$GITHUB_OUTPUT`` using the multi-line-safe heredoc form.

    A fresh random delimiter per value guarantees the value cannot contain it. Without
    ``GITHUB_OUTPUT`` (not in Actions) nothing is written.
    """
    path = _command_file(environ, "GITHUB_OUTPUT")
    if path is None:
        return
    chunks = []
    for name, value in values.items():
        if not name or any(c in name for c in "\r\n<") or name.strip() != name:
            raise UserError(f"invalid step output name {name!r}")
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        while delimiter in value:  # pragma: no cover - 128 random bits
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    _append(path, "".join(chunks), "GITHUB_OUTPUT")


def append_summary(markdown: str, environ: Mapping[str, str]) -> None:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY``, truncated under the 1 MiB limit.

    The limit applies to the whole file, so what the step already wrote counts too.
    """
    path = _command_file(environ, "GITHUB_STEP_SUMMARY")
    if path is None:
        return
    used = path.stat().st_size if path.exists() else 0
    budget = SUMMARY_LIMIT - used - 1
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    encoded = text.encode("utf-8")
    if len(encoded) > budget:
        note = SUMMARY_TRUNCATED_NOTE.encode("utf-8")
        keep = max(budget - len(note), 0)
        # Cut at a line boundary so a table row or code fence is not split mid-way.
        head = encoded[:keep].decode("utf-8", errors="ignore")
        cut = head.rfind("\n")
        head = head[: cut + 1] if cut >= 0 else ""
        text = head + SUMMARY_TRUNCATED_NOTE if len(note) <= budget else ""
    if text:
        _append(path, text, "GITHUB_STEP_SUMMARY")


def _append(path: Path, text: str, variable: str) -> None:
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UserError(f"cannot write {variable} file {path}: {exc.strerror}") from None


@dataclass(frozen=True)
class Annotation:
    """One workflow annotation: a finding pinned to a file and line when it has one."""

    level: str
    message: str
    file: str | None
    line: int | None
    title: str

    def __post_init__(self) -> None:
        if self.level not in ANNOTATION_LEVELS:
            raise ValueError(f"annotation level must be one of {ANNOTATION_LEVELS}")

    def to_command(self) -> str:
        """The ``::error file=…,line=…,title=…::message`` line for this annotation."""
        properties: dict[str, str | int] = {}
        if self.file:
            properties["file"] = self.file
            if self.line is not None and self.line > 0:
                properties["line"] = self.line
        if self.title:
            properties["title"] = self.title
        return command(self.level, self.message, **properties)


def emit_annotations(
    annotations: Sequence[Annotation],
    *,
    limit_per_level: int = 10,
    reserve: Mapping[str, int] | None = None,
    out: TextIO | None = None,
) -> None:
    """Print annotations, most severe first, at most ``limit_per_level`` of each level.

    The runner records only 10 errors, 10 warnings and 10 notices per step; printing more
    buries the worst ones, so the rest are counted in one closing notice instead. That
    notice, and the slots ``reserve`` keeps per level for what the step prints after these,
    come out of the same 10, or the runner would drop them.
    """
    stream = out if out is not None else sys.stdout
    order = {level: rank for rank, level in enumerate(ANNOTATION_LEVELS)}
    ranked = sorted(annotations, key=lambda a: order[a.level])  # stable: keeps input order
    caps = {
        level: max(0, limit_per_level - (reserve or {}).get(level, 0))
        for level in ANNOTATION_LEVELS
    }
    wanted = {level: sum(1 for a in ranked if a.level == level) for level in ANNOTATION_LEVELS}
    if any(wanted[level] > caps[level] for level in ANNOTATION_LEVELS):
        caps["notice"] = max(0, caps["notice"] - 1)  # room for the closing notice
    shown: dict[str, int] = dict.fromkeys(ANNOTATION_LEVELS, 0)
    dropped = 0
    for annotation in ranked:
        if shown[annotation.level] >= caps[annotation.level]:
            dropped += 1
            continue
        shown[annotation.level] += 1
        stream.write(annotation.to_command() + "\n")
    if dropped:
        stream.write(
            command(
                "notice",
                f"{dropped} more finding(s) not annotated; see the job summary or report file",
                title="leastpriv-ci",
            )
            + "\n"
        )
    stream.flush()
