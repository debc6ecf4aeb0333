"""Log formats: their definitions (data/*.toml), detection, and parsing chunks of lines.

Modules: ``parsing``. The names below are what the other stages use; each is imported on first use
(:mod:`tokenaudit._lazy`).
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .parsing import (
        RECORD_COLUMNS,
        count_fields,
        detect_format,
        get_format,
        lines_array,
        load_formats,
        parse_chunk,
        split_lines,
    )

__getattr__, __dir__ = attach(__name__, __file__, globals())

__all__ = [
    "RECORD_COLUMNS",
    "count_fields",
    "detect_format",
    "get_format",
    "lines_array",
    "load_formats",
    "parse_chunk",
    "split_lines",
]
