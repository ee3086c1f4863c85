"""Renderers: PR comment, job summary, annotations, JSON, SARIF."""

from __future__ import annotations
