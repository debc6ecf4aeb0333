"""The Parquet dataset: its layout, the append-only commit protocol, readers, event classes and compaction.

Modules: ``compact``, ``conflicts``, ``dataset``, ``event_classes``, ``layout``, ``lease``, ``location``. The
names below are what the other stages use; each is imported on first use (:mod:`tokenaudit._lazy`).
"""

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .compact import DEFAULT_TARGET_BYTES, CompactReport
    from .dataset import (
        commit_batch,
        default_dataset_path,
        discard_quietly,
        discard_uncommitted,
        new_batch_id,
        open_for_writing,
        read_events,
        read_manifest,
        read_realms,
        read_requests,
        read_tokens,
        remove_events,
        sum_requests,
        verify_dataset,
        write_events,
        write_realms,
        write_requests,
        write_tokens,
        writer_lock,
    )
    from .event_classes import EventClasses, classes_of_frame, read_event_classes
    from .layout import committed_batches

__getattr__, __dir__ = attach(__name__, __file__, globals())

__all__ = [
    "CompactReport",
    "DEFAULT_TARGET_BYTES",
    "EventClasses",
    "classes_of_frame",
    "commit_batch",
    "committed_batches",
    "default_dataset_path",
    "discard_quietly",
    "discard_uncommitted",
    "new_batch_id",
    "open_for_writing",
    "read_event_classes",
    "read_events",
    "read_manifest",
    "read_realms",
    "read_requests",
    "read_tokens",
    "remove_events",
    "sum_requests",
    "verify_dataset",
    "write_events",
    "write_realms",
    "write_requests",
    "write_tokens",
    "writer_lock",
]
