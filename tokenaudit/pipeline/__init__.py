"""Ingest: the pure per-chunk pipeline (parse, classify, count) and the incremental batch run over sources.

Modules: ``batches``, ``chunk``, ``distributed``, ``progress``, ``ranges``, ``trial``. The names below
are what the other stages use; each is imported on first use (:mod:`tokenaudit._lazy`).
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .batches import IngestReport, SourceReport, ingest
    from .chunk import ChunkContext, match_failures, process_chunk, route_of
    from .progress import Progress
    from .trial import try_signatures

__getattr__, __dir__ = attach(__name__, __file__, globals())

__all__ = [
    "ChunkContext",
    "IngestReport",
    "Progress",
    "SourceReport",
    "ingest",
    "match_failures",
    "process_chunk",
    "route_of",
    "try_signatures",
]
