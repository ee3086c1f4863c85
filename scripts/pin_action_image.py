"""Point a release's ``action.yml`` at its prebuilt image, pinned by digest.

``image: Dockerfile`` makes the runner build the image on every job that uses the action
(a minute and more of each gate run). A release instead pulls the image the release
workflow built and pushed once: ``image: docker://ghcr.io/OWNER/REPO@sha256:DIGEST``.
The digest, not a tag, so that the code a tag of the action runs cannot change after
the release. Only that one line changes.

Run from the repository root: ``python -m scripts.pin_action_image IMAGE DIGEST``, e.g.
``python -m scripts.pin_action_image ghcr.io/octo/leastpriv-ci sha256:0123…``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ACTION = Path(__file__).resolve().parent.parent / "action.yml"
BUILT_HERE = re.compile(r"^(  image: )Dockerfile$", re.MULTILINE)
# A registry host, then lower-case path components (the OCI distribution spec's rules).
IMAGE = re.compile(r"[a-z0-9.-]+(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class PinError(ValueError):
    """The image, the digest or action.yml is not what a release can pin."""


def pinned(action: str, image: str, digest: str) -> str:
    """``action`` (action.yml's text) with its ``image: Dockerfile`` pulling ``image``
    at ``digest`` instead."""
    if not IMAGE.fullmatch(image):
        raise PinError(f"the image {image!r} is not a name such as ghcr.io/owner/name "
                       "(lower case, no tag)")
    if not DIGEST.fullmatch(digest):
        raise PinError(f"the digest {digest!r} is not one such as sha256:<64 hex digits>")
    found = BUILT_HERE.findall(action)
    if len(found) != 1:
        raise PinError("action.yml has no line '  image: Dockerfile' to replace "
                       "(already pinned?)")
    return BUILT_HERE.sub(lambda m: f"{m.group(1)}docker://{image}@{digest}", action)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m scripts.pin_action_image IMAGE DIGEST", file=sys.stderr)
        return 2
    try:
        text = pinned(ACTION.read_text(encoding="utf-8"), argv[0], argv[1])
    except PinError as exc:
        print(exc, file=sys.stderr)
        return 2
    ACTION.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
