"""Helpers shared by unit and functional tests (never imported from a test module)."""
