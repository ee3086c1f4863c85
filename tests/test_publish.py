"""Publishing a run to Actions: outputs, summary, annotations, then the comment."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from leastpriv_ci.notices import Notices
from leastpriv_ci.publish import Publication, publish_to_actions
from leastpriv_ci.runner import Annotation
from tests.github_server import GitHubServer, Identity
from tests.test_runner import parse_output_file

EVENTS = Path(__file__).parent / "data" / "action" / "events"


def environment(tmp_path: Path, github: GitHubServer, event: str) -> dict[str, str]:
    return {
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(EVENTS / f"{event}.json"),
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_API_URL": github.api_url,
        "GITHUB_WORKFLOW": "CI",
        "GITHUB_JOB": "gate",
        "LEASTPRIV_GITHUB_TOKEN": "user-token",
    }


PUBLICATION = Publication(
    outputs={"verdict": "fail", "excess-count": "2"},
    summary="## leastpriv-ci: fail",
    annotations=[Annotation("error", "s3:DeleteObject is never used", "template.yaml", 14,
                            "excess permission")],
    comment="### leastpriv-ci: **fail**",
)


def test_everything_is_published_and_the_comment_url_is_an_output(
    tmp_path: Path, github: GitHubServer
) -> None:
    github.state.tokens["user-token"] = Identity("gate-user")
    github.state.add_pull("octo/app", 7)
    out = io.StringIO()
    result = publish_to_actions(PUBLICATION, environment(tmp_path, github, "pull_request"),
                                comment_key="eu", notices=Notices(), out=out)
    assert result.action == "created"
    outputs = parse_output_file((tmp_path / "output").read_text())
    assert outputs == {"verdict": "fail", "excess-count": "2", "comment-url": result.url}
    assert (tmp_path / "summary.md").read_text() == "## leastpriv-ci: fail\n"
    assert out.getvalue() == (
        "::error file=template.yaml,line=14,title=excess permission::"
        "s3:DeleteObject is never used\n"
    )
    [comment] = github.state.comments_on("octo/app", 7)
    assert comment["body"] == "<!-- leastpriv-ci:CI/gate/eu -->\n### leastpriv-ci: **fail**"


def test_a_push_run_still_gets_outputs_and_a_visible_warning(
    tmp_path: Path, github: GitHubServer
) -> None:
    out = io.StringIO()
    notices = Notices()
    result = publish_to_actions(PUBLICATION, environment(tmp_path, github, "push"),
                                notices=notices, out=out)
    assert result.action == "skipped"
    outputs = parse_output_file((tmp_path / "output").read_text())
    assert outputs == {"verdict": "fail", "excess-count": "2", "comment-url": ""}
    assert out.getvalue().splitlines()[-1] == (
        "::warning title=leastpriv-ci::no pull-request comment: the push event is not a "
        "pull request"
    )
    assert notices.count("comment-skipped") == 1
    assert github.state.requests == []


def _twelve_published(tmp_path: Path, github: GitHubServer, level: str,
                      **options: Any) -> list[str]:
    """The ``level`` lines a push run prints for twelve annotations of that level."""
    many = [Annotation(level, f"finding {i}", "template.yaml", i + 1, "kind")
            for i in range(12)]
    publication = Publication(outputs={"verdict": "fail"}, summary="s", annotations=many,
                              comment="c")
    out = io.StringIO()
    publish_to_actions(publication, environment(tmp_path, github, "push"), notices=Notices(),
                       out=out, **options)
    return [line for line in out.getvalue().splitlines() if line.startswith(f"::{level} ")]


def test_the_no_comment_warning_is_not_the_eleventh_warning(
    tmp_path: Path, github: GitHubServer
) -> None:
    # The runner records 10 warnings per step: a skipped comment must still be one of them.
    warnings = _twelve_published(tmp_path, github, "warning")
    assert len(warnings) == 10
    assert warnings[-1].startswith("::warning title=leastpriv-ci::no pull-request comment")


def test_errors_printed_after_the_annotations_keep_their_slots(
    tmp_path: Path, github: GitHubServer
) -> None:
    # A report file that could not be written is an error printed after publishing: it
    # must not be the runner's eleventh error of the step, the one it drops.
    assert len(_twelve_published(tmp_path, github, "error", errors_after=1)) == 9
