"""The one exception tree of tokenaudit, and its warning category.

Every error a user can cause (a missing file, an unknown format, a broken
catalogue, a dataset from a newer version) is a :class:`TokenAuditError`
subclass. Each carries a one-line message and, where there is one, a ``hint``
saying what to do next. Messages never contain a raw token: callers pass
redacted text only.
"""

from __future__ import annotations

import errno


class TokenAuditError(Exception):
    """Root of every error tokenaudit raises on purpose.

    Parameters
    ----------
    message
        What went wrong, in one line.
    hint
        What the user can do about it, or ``None``.

    Examples
    --------
    >>> err = TokenAuditError("no such dataset", hint="run `tokenaudit ingest` first")
    >>> str(err), err.hint
    ('no such dataset', 'run `tokenaudit ingest` first')
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class InputError(TokenAuditError):
    """Raised when an input path cannot be found, opened or read."""


class FormatError(TokenAuditError):
    """Raised when a log format is unknown, cannot be detected, or its definition is broken."""


class CatalogueError(TokenAuditError):
    """Raised when a signature or cause definition file is invalid.

    Parameters
    ----------
    message
        What is wrong.
    path
        The data file, if known.
    signature_id
        The signature concerned, if any.
    hint
        What to change.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        signature_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.signature_id = signature_id
        where = ": ".join(part for part in (path, signature_id) if part)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)


class DatasetError(TokenAuditError):
    """Raised when a dataset is missing, locked or unreadable."""


class LeaseBusyError(DatasetError):
    """Raised when another site holds a lease of a dataset on an object store (:mod:`tokenaudit.store.lease`)."""


class IngestConflictError(DatasetError):
    """Raised when another site committed lines of the same sources that an ingest had read too.

    Parameters
    ----------
    dataset
        The dataset, as a user names it.
    sources
        The sources whose lines the other site committed first.
    retried
        Whether the ingest had already been run again once from the other site's state.

    Examples
    --------
    >>> err = IngestConflictError("s3://logs/ds", ["syslog", "auth.log", "app.log"], retried=True)
    >>> str(err).partition(": ")[2].partition("; ")[0]
    'another site committed lines of syslog and 2 more sources that this ingest read too, again after a retry'
    >>> err.hint.split(";")[0]
    'another site is ingesting the same sources into this dataset'
    """

    def __init__(self, dataset: object, sources: list[str], *, retried: bool = False) -> None:
        self.dataset, self.sources, self.retried = str(dataset), list(sources), retried
        more = len(self.sources) - 1
        named = (self.sources[0] if self.sources else "a source") + (
            f" and {more} more source{'s' if more > 1 else ''}" if more > 0 else "")
        super().__init__(
            f"{self.dataset}: another site committed lines of {named} that this ingest read too"
            f"{', again after a retry' if retried else ''}; nothing of this ingest was committed",
            hint="another site is ingesting the same sources into this dataset; run one ingest per source, "
                 "or run again",
        )


class SchemaMismatchError(DatasetError):
    """Raised when a dataset was written with a schema this version cannot read."""


class StorageError(DatasetError):
    """Raised when the dataset or an output file cannot be written: a read-only file system, no permission, a full disk.

    Examples
    --------
    >>> import errno
    >>> err = storage_error(OSError(errno.ENOSPC, "No space left on device"), "/data/ta")
    >>> str(err)
    'cannot write /data/ta: no space left on device'
    >>> err.hint.split(";")[0]
    'free space on that file system (or give another --dataset)'
    """


class OutOfMemoryError(TokenAuditError):
    """Raised when a command outgrows the memory it may use; nothing was written."""


#: What to do about a failed write, by the OS's error number (and the words Arrow writes instead of one).
_STORAGE_HINTS = {
    errno.EROFS: ("read-only file system",
                  "give a writable --dataset (or $TOKENAUDIT_DATASET), or remount it read-write; analyze, report and "
                  "events read a read-only dataset as it is"),
    errno.EACCES: ("permission denied",
                   "run as the dataset's owner, or give a --dataset you may write to"),
    errno.EPERM: ("operation not permitted",
                  "run as the dataset's owner, or give a --dataset you may write to"),
    errno.ENOSPC: ("no space left on device",
                   "free space on that file system (or give another --dataset); `tokenaudit prune --older-than 90d` "
                   "drops old events, and the dataset is as it was before this run"),
    errno.EDQUOT: ("disk quota exceeded",
                   "free space within your quota (or give another --dataset); "
                   "the dataset is as it was before this run"),
}


def storage_error(exc: OSError, path: object) -> StorageError:
    """The :class:`StorageError` for an ``OSError`` raised while writing ``path``.

    Arrow reports a failed write as an ``OSError`` without an error number, naming the cause in words
    ("No space left on device"): both are understood.
    """
    number = exc.errno
    if number not in _STORAGE_HINTS:
        text = str(exc).lower()
        number = next((n for n, (words, _) in _STORAGE_HINTS.items() if words in text), number)
    where = exc.filename or path
    if number in _STORAGE_HINTS:
        words, hint = _STORAGE_HINTS[number]
        return StorageError(f"cannot write {where}: {words}", hint=hint)
    words = " ".join((exc.strerror or str(exc)).split()).lower()
    return StorageError(f"{where}: {words}", hint="check that the path exists and its file system is healthy (`dmesg`)")


class ReportError(TokenAuditError):
    """Raised when analysis results cannot be rendered or written."""


class TokenAuditWarning(UserWarning):
    """Warned for oddities tokenaudit recovers from (a clock that went backwards, say)."""
