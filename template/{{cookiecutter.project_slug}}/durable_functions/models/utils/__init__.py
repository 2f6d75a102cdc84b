"""Utility modules kept at the reference SDK's import paths."""
