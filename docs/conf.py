"""Sphinx configuration for faultwrap's documentation."""

project = "faultwrap"
copyright = "2026, the faultwrap authors"
extensions = ["sphinx.ext.autodoc", "oslo_config.sphinxext"]  # show-options
master_doc = "index"
exclude_patterns = ["_build", "notification_samples", "notification_schemas"]
html_theme = "alabaster"
