"""Rendering for people and machines: tables, Markdown, JSON, CSV, and the HTML report."""
