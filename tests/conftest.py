"""Puts ``tests/`` on ``sys.path`` (pytest's rootdir-based import of this file), so suites share
``fuzz_kit.py``: the host's management API and the generated app's starters are fuzzed alike."""
