"""Rendering for people and machines: tables, Markdown, JSON, CSV, and the HTML report.

Modules: ``answers``, ``compaction``, ``report``, ``tables``. The names below are what the other stages
use; each is imported on first use (:mod:`tokenaudit._lazy`).
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .answers import render_answers
    from .compaction import render_compact_report
    from .report import render_report
    from .tables import (
        ingest_report_to_dict,
        reflow_fix,
        render_diagnosis,
        render_events,
        render_groups,
        render_ingest_report,
        render_trial,
    )

__getattr__, __dir__ = attach(__name__, __file__, globals())

__all__ = [
    "render_answers",
    "render_compact_report",
    "ingest_report_to_dict",
    "reflow_fix",
    "render_diagnosis",
    "render_events",
    "render_groups",
    "render_ingest_report",
    "render_report",
    "render_trial",
]
