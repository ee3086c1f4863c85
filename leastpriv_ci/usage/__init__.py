"""Segment documents → Access records: what each principal really did."""

from __future__ import annotations
