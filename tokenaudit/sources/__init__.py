"""Input sources: paths, folders, globs and stdin, read as byte streams (gzip too).

Modules: ``readers``. The names below are what the other stages use; each is imported on first use
(:mod:`tokenaudit._lazy`).
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .readers import (
        HEAD_BYTES,
        TAIL_BYTES,
        ByteStream,
        Source,
        close_source,
        digest,
        expand_inputs,
        iter_line_blocks,
        open_source,
    )

__getattr__, __dir__ = attach(__name__, __file__, globals())

__all__ = [
    "ByteStream",
    "HEAD_BYTES",
    "Source",
    "TAIL_BYTES",
    "close_source",
    "digest",
    "expand_inputs",
    "iter_line_blocks",
    "open_source",
]
