"""The dashboard tests' fixtures (defined in dashboardkit.py, shared with the tests)."""

from dashboardkit import dashboard, pipeline

__all__ = ["dashboard", "pipeline"]
