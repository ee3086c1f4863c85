"""The embedded staging: the notes-app deployed on a local AWS emulator, traced for real."""

from __future__ import annotations
