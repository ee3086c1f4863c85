"""IAM policies: the model, parsing, matching and evaluation."""

from __future__ import annotations
