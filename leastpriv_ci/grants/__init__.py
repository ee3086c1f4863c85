"""Where granted policies come from: infrastructure code and the IAM API.

Every source module exposes ``load(path, context, notices) -> GrantSet`` (or, for the
account, a function taking a boto3 session); every statement keeps its :class:`Origin`.
"""

from __future__ import annotations
