"""How far an ingest has come: the updates a progress display is built from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """A progress update of an ingest: which source of how many, and how far into it and into all.

    Bytes are counted as they are on disk: a compressed file's progress is in
    compressed bytes, so ``bytes_read`` never passes ``size``. A display (the
    command line's progress bar) is built from these; the library prints nothing.

    Attributes
    ----------
    source
        The source being read, as reports name it.
    bytes_read
        Bytes of it read so far.
    size
        Its size on disk; ``None`` for standard input.
    file_number, file_count
        Which source this is (from 1), of how many.
    bytes_before
        The sizes of the sources before this one, read or passed over.
    total_size
        The size of all sources; ``None`` when one is standard input.

    Examples
    --------
    >>> update = Progress("syslog.1.gz", 300, 1_000, file_number=2, file_count=3, bytes_before=500, total_size=2_000)
    >>> update.total_read, f"{update.total_read / update.total_size:.0%}"
    (800, '40%')
    """

    source: str
    bytes_read: int
    size: int | None
    file_number: int = 1
    file_count: int = 1
    bytes_before: int = 0
    total_size: int | None = None

    @property
    def total_read(self) -> int:
        """Bytes of all sources read or passed over so far."""
        return self.bytes_before + self.bytes_read
