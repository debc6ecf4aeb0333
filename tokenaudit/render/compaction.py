"""The report of :func:`tokenaudit.compact` as text for a person."""

from __future__ import annotations

from ..store.compact import CompactReport


def render_compact_report(report: CompactReport) -> str:
    """The report as a few lines of text.

    Examples
    --------
    >>> from pathlib import Path
    >>> print(render_compact_report(CompactReport(Path("d"), 5, 2, 4, 24, 6, 100, 4096, 2048, 24)))
    d: 5 batches -> 2; merged 4 batches (24 files, 4.1 kB) into 1 (6 files, 2.0 kB), 100 events
    """
    merged_into = report.batches_after - (report.batches_before - report.batches_merged)
    if not report.batches_merged:
        return f"{report.dataset}: {report.batches_before} batches; nothing to merge"
    refreshed = f"; {report.refreshed:,} of them matched again with the current catalogue" if report.refreshed else ""
    return (f"{report.dataset}: {report.batches_before} batches -> {report.batches_after}; "
            f"merged {report.batches_merged} batches ({report.files_merged} files, {report.bytes_before / 1e3:,.1f} kB)"
            f" into {merged_into} ({report.files_written} files, {report.bytes_after / 1e3:,.1f} kB),"
            f" {report.rows:,} events{refreshed}")
