"""Sticky-comment sync on a busy pull request, against the local GitHub REST server.

Deterministic: N comments by other users, then the gate's comment, then an update run.
Prints the requests made, wall time per sync and peak RSS. The real cost on GitHub is
round trips (~100-300 ms each), so the request count is the figure that matters.

    python bench/bench_comment.py [N ...]
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from leastpriv_ci.github import PullRequestContext, post_comment
from leastpriv_ci.notices import Notices
from tests.github_server import GitHubState, Identity, running_github

BODY = "### leastpriv-ci: **fail**\n\n" + "| `s3:GetObject` | arn:aws:s3:::b/k | excess |\n" * 400


def run(existing: int) -> None:
    state = GitHubState()
    state.tokens["t"] = Identity("gate")
    state.add_pull("octo/app", 1)
    other = Identity("someone")
    for i in range(existing):
        state.add_comment("octo/app", 1, f"comment {i}", other)
    with running_github(state) as server:
        ctx = PullRequestContext("octo/app", 1, "h" * 40, "b" * 40, "pull_request", False,
                                 "octocat", server.api_url, "https://github.com", "CI", "gate",
                                 "1")
        post_comment(BODY, token="t", context=ctx, notices=Notices())
        for label, body in (("update", BODY + "\nchanged"), ("unchanged", BODY + "\nchanged")):
            before = len(state.requests)
            start = time.perf_counter()
            result = post_comment(body, token="t", context=replace(ctx), notices=Notices())
            elapsed = time.perf_counter() - start
            assert result.action in ("updated", "unchanged")
            print(f"{existing:>6} comments  {label:<9}  {len(state.requests) - before:>3} "
                  f"requests  {elapsed * 1000:8.1f} ms  "
                  f"({existing / elapsed:,.0f} comments scanned/s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    for n in [int(a) for a in sys.argv[1:]] or [100, 1000, 5000]:
        run(n)
