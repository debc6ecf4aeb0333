"""The one exception tree of tokenaudit, and its warning category.

Every error a user can cause (a missing file, an unknown format, a broken
catalogue, a dataset from a newer version) is a :class:`TokenAuditError`
subclass. Each carries a one-line message and, where there is one, a ``hint``
saying what to do next. Messages never contain a raw token: callers pass
redacted text only.
"""

from __future__ import annotations


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


class SchemaMismatchError(DatasetError):
    """Raised when a dataset was written with a schema this version cannot read."""


class ReportError(TokenAuditError):
    """Raised when analysis results cannot be rendered or written."""


class TokenAuditWarning(UserWarning):
    """Warned for oddities tokenaudit recovers from (a clock that went backwards, say)."""
