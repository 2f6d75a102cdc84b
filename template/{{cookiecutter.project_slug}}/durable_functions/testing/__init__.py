"""Testing toolkit: in-memory runs in virtual time, a replayer and a determinism lint."""

from __future__ import annotations
