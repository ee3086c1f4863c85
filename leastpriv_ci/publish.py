"""Hand a finished run to GitHub Actions in the order users rely on.

Outputs first (so they exist even when the step then fails), then the job summary, the
annotations and the pull-request comment; the comment's URL is added to the outputs
last. GitHub refusing the comment never changes the gate: it becomes a notice.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from leastpriv_ci.github import CommentResult, post_comment, pull_request_context
from leastpriv_ci.github import token_from_environment as _token
from leastpriv_ci.notices import Notices
from leastpriv_ci.runner import (
    Annotation,
    append_summary,
    command,
    emit_annotations,
    set_outputs,
)


@dataclass(frozen=True)
class Publication:
    """What the renderers produced for one run."""

    outputs: Mapping[str, str]
    summary: str
    annotations: Sequence[Annotation]
    comment: str


def publish_to_actions(
    publication: Publication,
    environ: Mapping[str, str],
    *,
    comment_mode: str = "update",
    comment_key: str = "",
    notices: Notices,
    errors_after: int = 0,
    out: TextIO | None = None,
) -> CommentResult:
    """Write outputs, summary and annotations, then post the comment; return the comment's fate.

    The ``comment-url`` output is set (possibly empty) after the comment, so a workflow
    can always read it. ``errors_after`` error annotations follow (the report files that
    could not be written): their slots are kept among the 10 the runner shows.
    """
    stream = out if out is not None else sys.stdout
    set_outputs(publication.outputs, environ)
    append_summary(publication.summary, environ)
    # A skipped comment is reported as one more warning below: keep a slot for it.
    reserve = {"warning": 1 if comment_mode != "off" else 0, "error": errors_after}
    emit_annotations(publication.annotations, reserve=reserve, out=stream)
    result = post_comment(
        publication.comment,
        token=_token(environ),
        context=pull_request_context(environ),
        mode=comment_mode,
        key=comment_key,
        notices=notices,
    )
    if result.action == "skipped" and comment_mode != "off":
        # A refused comment must not be silent (forks, missing pull-requests: write).
        stream.write(command("warning", f"no pull-request comment: {result.reason}",
                             title="leastpriv-ci") + "\n")
        stream.flush()
    set_outputs({"comment-url": result.url or ""}, environ)
    return result
