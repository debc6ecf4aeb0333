"""The ``tokenaudit`` command: a thin layer over the library.

Each command parses its options, calls the library, and prints what it
returns. Exit codes: 0 success; 1 an error tokenaudit explains (``error:``
and ``hint:`` on stderr); 2 a usage error; 3 ``signatures check`` found
problems, or a ``report --fail-on`` condition held; 4 ingest finished but some
inputs could not be read; 5 ``why`` recognised no failure in some message.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, cast

import typer
from typer.core import TyperCommand, TyperGroup

from .errors import (
    CatalogueError,
    DatasetError,
    InputError,
    OutOfMemoryError,
    ReportError,
    StorageError,
    TokenAuditError,
    storage_error,
)
from .version import __version__

#: compact's --target-mb default: tokenaudit.store.compact.DEFAULT_TARGET_BYTES in MB (a test keeps them equal).
COMPACT_TARGET_MB = 128
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CHECK_FAILED = 3
EXIT_PARTIAL = 4
EXIT_NOT_RECOGNISED = 5
EXIT_STORAGE = 6
EXIT_MEMORY = 7

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from .catalogue.order import Catalogue
    from .pipeline.progress import Progress
    from .tokens.relying_parties import RelyingParty

    class _ClickUsageError(Exception):
        """What the type checker knows of click's UsageError: a message and the context."""

        def __init__(self, message: str, ctx: Any = None) -> None: ...

#: click's UsageError, whether typer vendors click (typer >= 0.20) or depends on it.
_UsageError = cast("type[_ClickUsageError]", typer.BadParameter.__mro__[1])


@contextmanager
def _usage_errors() -> Iterator[None]:
    """A usage error (unknown option, bad choice, missing argument) as ``error:``/``hint:`` lines, exit 2."""
    try:
        yield
    except _UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `tokenaudit` alone: the help, as before
            raise
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "tokenaudit"
        _err(f"error: {' '.join(getattr(exc, 'format_message', exc.__str__)().split())}")
        _err(f"hint: see `{command} --help`")
        raise typer.Exit(EXIT_USAGE) from None


class _OneLineErrors(TyperGroup):
    """The command group, printing usage errors in the same two lines as every other error."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _usage_errors():
            return super().invoke(ctx)


app = typer.Typer(
    cls=_OneLineErrors,
    name="tokenaudit",
    help="Tell why OIDC/JWT logins and API calls are rejected, and what to change.\n\n"
    "Example: `tokenaudit ingest /var/log/syslog /etc/pve/domains.cfg`, then `tokenaudit analyze`.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
signatures_app = typer.Typer(help="List and check signatures (the catalogue of validator messages).",
                             no_args_is_help=True)
app.add_typer(signatures_app, name="signatures")

DatasetOption = Annotated[
    Optional[str],  # noqa: UP045 - typer needs Optional here
    typer.Option("--dataset", "-d",
                 help="Dataset folder, or a URL such as s3://bucket/prefix "
                      "\\[default: $TOKENAUDIT_DATASET or ~/.local/share/tokenaudit/dataset]."),
]
SinceOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        help="Only events at or after: 24h, 7d (back from --until, else from now), 2025-03-24, or an ISO time."
    ),
]
UntilOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(help="Only events before this time (same forms as --since)."),
]
SignaturesOption = Annotated[
    Optional[list[Path]],  # noqa: UP045
    typer.Option("--signatures", help="Extra signature file(s) to use, besides the built-in ones (repeatable)."),
]


def _dask_option(reads: str, reach: str) -> Any:
    """``--dask ADDRESS|local:N``: ``reads`` what runs as tasks, ``reach`` what the workers must reach."""
    return typer.Option(
        "--dask", metavar="ADDRESS|local:N",
        help=f"Read {reads} as tasks on a Dask cluster: a scheduler's address (tcp://host:8786), or local:N for N "
             f"worker processes here. Workers must reach {reach}. Needs pip install 'tokenaudit[dask]'.",
    )


ReadOnClusterOption = Annotated[
    Optional[str],  # noqa: UP045
    _dask_option("the dataset's files (the result is the same)", "the dataset at the same path or URL"),
]
OutputFileOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--output", "-o", help="Write to this file instead of standard output."),
]


@contextmanager
def _cluster(address: str | None) -> Iterator[Any]:
    """A Dask client for ``--dask ADDRESS|local:N``, closed on leaving; ``None`` without the option."""
    if address is None:
        yield None
        return
    from .pipeline.distributed import cluster_client

    with cluster_client(address) as client:
        yield client


def _renamed(*old: str, new: str) -> Any:
    """A hidden option under its old name: using it is a usage error that names the new one.

    One meaning per option across the commands: ``--format`` is the output format, ``--input-format`` the
    log format, ``--output`` a file to write, ``--signatures`` extra signature files.
    """
    def refuse(ctx: Any, param: Any, value: Any) -> None:
        if value:
            raise _UsageError(f"{'/'.join(old)} was renamed {new}", ctx=ctx)

    return typer.Option(*old, hidden=True, callback=refuse, expose_value=False)


def _signature_files_argument(command: str) -> Any:
    """The old positional signature files of ``signatures list/check``: a usage error naming ``--signatures``."""
    def refuse(ctx: Any, param: Any, value: Any) -> None:
        if value:
            raise _UsageError(f"signature files are given with --signatures now: tokenaudit signatures {command} "
                              + " ".join(f"--signatures {file}" for file in value), ctx=ctx)

    return typer.Argument(hidden=True, callback=refuse, expose_value=False)


class _UsageWithoutHidden(TyperCommand):
    """A command whose usage line leaves out its hidden arguments (old spellings kept only to name the new)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if not getattr(param, "hidden", False):
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


class GroupFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


class EventFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


class ReportFormat(StrEnum):
    text = "text"
    json = "json"


def _err(text: str) -> None:
    typer.echo(text, err=True)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn every failure a user can meet into one ``error:`` and one ``hint:`` line and an exit code, never a
    traceback.

    A :class:`TokenAuditError` exits with 1; one that says the dataset or an output cannot be written (read-only,
    no permission, disk full) with 6; running out of memory with 7. An ``OSError`` or ``MemoryError`` the library
    did not translate is translated here. The lines are written after the failing frames are released, so that
    printing them needs no memory the failure took.
    """
    failure: TokenAuditError | None = None
    try:
        yield
    except TokenAuditError as exc:
        failure = exc
    except MemoryError:
        failure = _out_of_memory()
    except OSError as exc:
        failure = storage_error(exc, exc.filename or "a file")
    except Exception as exc:
        arrow = sys.modules.get("pyarrow")  # an Arrow failure means pyarrow is loaded; else it is no Arrow failure
        if arrow is None or not isinstance(exc, arrow.ArrowException) or not _is_out_of_memory(exc):
            raise
        failure = _out_of_memory()
    if failure is None:
        return
    _err(f"error: {' '.join(str(failure).split())}")
    _err(f"hint: {' '.join((failure.hint or _default_hint(failure)).split())}")
    code = EXIT_STORAGE if isinstance(failure, StorageError) else EXIT_MEMORY if isinstance(failure, OutOfMemoryError) \
        else EXIT_ERROR
    raise typer.Exit(code)


def _out_of_memory() -> OutOfMemoryError:
    return OutOfMemoryError("out of memory", hint="narrow the period (--since/--until), or run where more memory is "
                                                  "free; the dataset is as it was")


def _is_out_of_memory(exc: pa.ArrowException) -> bool:
    """Whether Arrow failed for want of memory: it reports a Python object it could not allocate as
    "Wrapping … failed" or "Unknown error: Wrapping …" (with no MemoryError attached), and its own
    allocations as out of memory."""
    text = str(exc).lower()
    return (("wrapping" in text and ("failed" in text or text.startswith("unknown error")))
            or "out of memory" in text or "malloc" in text)


def _default_hint(exc: TokenAuditError) -> str:
    """A hint for errors raised without one: where to look, by kind of error."""
    if isinstance(exc, CatalogueError):
        return ("compare the file with the built-in ones in tokenaudit/catalogue/data/signatures/ "
                "(README: The signature catalogue), or with sample_logs/tokenaudit.toml for relying parties")
    if isinstance(exc, DatasetError):
        return "check --dataset (default: $TOKENAUDIT_DATASET, else ~/.local/share/tokenaudit/dataset)"
    return "see `tokenaudit --help` and the README"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tokenaudit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Tell why OIDC/JWT logins and API calls are rejected, and what to change."""


@app.command("ingest")
def ingest_command(
    paths: Annotated[
        list[str],
        typer.Argument(help="Log files, folders, glob patterns, /etc/pve/domains.cfg, or - for stdin."),
    ],
    *,
    dataset: DatasetOption = None,
    input_format: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--input-format", help="Force this log format (see `tokenaudit formats`) \\[default: detected per file]."
        ),
    ] = None,
    timezone: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Zone of log times that carry none (RFC 3164 syslog) \\[default: this machine's]."),
    ] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format", "-f", metavar="<text|json>",
            callback=lambda ctx, param, value: _ingest_output_format(ctx, param, value),
            help="text, or json for scripts.",
        ),
    ] = "text",
    signatures: SignaturesOption = None,
    jobs: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--jobs", "-j", min=1, help="Threads that process a file's blocks \\[default: all cores]."),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No progress bar (there is none when standard error is no terminal)."),
    ] = False,
    dask: Annotated[
        Optional[str],  # noqa: UP045
        _dask_option("the sources", "the files, and the dataset, at the same paths or URL"),
    ] = None,
    _output: Annotated[Optional[str], _renamed("--output", "-o", new="--format/-f")] = None,  # noqa: UP045
) -> None:
    """Read logs and realm configuration into the dataset, adding only what is new.

    Formats are detected per file. Re-running over the same files reads only
    lines added since; rotated and compressed copies are recognised. Ends
    with the line accounting: read = parsed + skipped + rejected.

    Example: tokenaudit ingest /var/log/syslog* /etc/pve/domains.cfg
    """
    from .catalogue.loading import load_catalogue
    from .pipeline.batches import ingest
    from .render.tables import ingest_report_to_dict, render_ingest_report
    from .store.dataset import dataset_root

    with cli_errors(), _cluster(dask) as client:
        catalogue = load_catalogue(signatures or [])
        console = _progress_console() if not quiet else None
        _announce_training(console, catalogue)
        with _progress_bar(console) as progress:
            report = ingest(paths, dataset_root(dataset), format_name=input_format,
                            timezone=timezone, catalogue=catalogue, progress=progress, jobs=jobs, client=client)
    if output_format == "json":
        typer.echo(json.dumps(ingest_report_to_dict(report), indent=2))
    else:
        typer.echo(render_ingest_report(report))
    if report.incomplete:
        raise typer.Exit(EXIT_PARTIAL)


def _ingest_output_format(ctx: Any, param: Any, value: str) -> str:
    """Check ingest's ``--format``; a log format name there (its old meaning) is told to use ``--input-format``."""
    from .formats.parsing import load_formats

    if value in ("text", "json"):
        return value
    if value in load_formats():
        raise _UsageError(f"--format is the output format (text or json); the log format is --input-format {value}",
                          ctx=ctx)
    raise _UsageError(f"Invalid value for '--format' / '-f': {value!r} is not one of 'text', 'json'.", ctx=ctx)


def _progress_console() -> Any:
    """A rich console on standard error when it is a terminal, else ``None``: no progress in pipes and logs."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    return Console(stderr=True)


def _announce_training(console: Any, catalogue: Catalogue) -> None:
    """On a terminal (``console``; none: nothing), learn the catalogue's word model first if it is not, and say so.

    The first run of a catalogue trains it for a few seconds; without a word the progress bar would stand still.
    In a pipe it is learnt when a line first needs it, as the library does.
    """
    from .catalogue.word_model import is_trained, word_model

    if console is not None and not is_trained(catalogue):
        with console.status("learning the words of the catalogue's samples (once per catalogue, a few seconds)"):
            word_model(catalogue)


@contextmanager
def _progress_bar(console: Any) -> Iterator[Callable[[Progress], None] | None]:
    """Show ingest's progress on ``console`` (none: no display): file n of m, bytes read, rate, time left.

    Bytes are of the input as on disk (compressed bytes for a ``.gz``), over all files; the bar leaves the
    screen when the ingest ends, so that the line accounting follows it.
    """
    if console is None:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn, TransferSpeedColumn
    from rich.progress import Progress as Bar

    bar = Bar(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
              TimeRemainingColumn(), console=console, transient=True)
    task = bar.add_task("reading", total=None)

    shown_file = [0]

    def show(update: Progress) -> None:
        name = Path(update.source).name
        bar.update(task, description=f"file {update.file_number} of {update.file_count} {name[-30:]}",
                   completed=update.total_read, total=update.total_size)
        if update.file_number != shown_file[0]:  # every file is drawn as it starts, however fast it is read
            shown_file[0] = update.file_number
            bar.refresh()

    with bar:
        yield show


def _window(since: str | None, until: str | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    from .common.timestamps import time_window

    return time_window(since, until)


def _read_window(root: Path | str, since: str | None, until: str | None,
                 batches: list[str] | None = None) -> pd.DataFrame:
    from .store.dataset import read_events

    start, end = _window(since, until)
    return read_events(root, since=start, until=end, batches=batches)


@app.command("analyze")
def analyze_command(
    *,
    dataset: DatasetOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    output_format: Annotated[
        GroupFormat,
        typer.Option("--format", "-f", help="table, markdown, or json."),
    ] = GroupFormat.table,
    config: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="tokenaudit.toml naming relying parties, for pairing failures with captured tokens."),
    ] = None,
    signatures: SignaturesOption = None,
    details: Annotated[
        str,
        typer.Option("--details", metavar="N|all", help="How many groups the table shows in full after its summary."),
    ] = "3",
    dask: ReadOnClusterOption = None,
) -> None:
    """Group failures by cause, relying party and offending value, with the fix for each.

    The table opens with a summary (one line per group, its fix in one line below), then
    the first groups in full (--details). markdown and json hold every group in full.

    Example: tokenaudit analyze --since 7d --format markdown
    """
    from .analysis.failures import failure_groups
    from .catalogue.loading import load_catalogue
    from .render.tables import render_groups
    from .store.dataset import dataset_root, read_realms, read_tokens
    from .store.event_classes import read_event_classes
    from .store.layout import committed_batches
    from .store.looseness import Looseness
    from .tokens.relying_parties import load_relying_parties

    if details != "all" and not (details.isascii() and details.isdigit()):
        raise typer.BadParameter(f"{details!r} is neither a number nor all", param_hint="--details")
    with cli_errors(), _cluster(dask) as client:
        root = dataset_root(dataset)
        batches = committed_batches(root)  # one snapshot of events, realms and tokens
        start, end = _window(since, until)
        catalogue = load_catalogue(signatures or [])
        events = read_event_classes(root, since=start, until=end, batches=batches, loose=Looseness.of(catalogue),
                                    client=client)
        parties = load_relying_parties(config) if config else {}
        groups = failure_groups(events, read_realms(root, batches=batches), catalogue=catalogue,
                                tokens=read_tokens(root, batches=batches), parties=parties)
    from rich.console import Console

    console = Console()  # the terminal's width (COLUMNS when set); colours on a terminal only, and not with NO_COLOR
    typer.echo(render_groups(groups, fmt=output_format.value, width=console.width,
                             details=None if details == "all" else int(details),
                             color=console.is_terminal and not console.no_color),
               nl=output_format is not GroupFormat.table)


@app.command("why")
def why_command(
    messages: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Argument(help="Messages to explain, or - to read them from standard input (one a line)."),
    ] = None,
    *,
    output_format: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="text, or json for scripts."),
    ] = ReportFormat.text,
    signatures: SignaturesOption = None,
    dataset: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--dataset", "-d", help="A dataset whose realms (domains.cfg) fill in the fixes; none is read otherwise."
        ),
    ] = None,
) -> None:
    """Why was it rejected? Paste the message a web UI, a log or a ticket showed: no dataset needed.

    For each message: the cause, the causes the same words could also mean,
    how sure tokenaudit is, the explanation and the fix. Where no entry of the
    catalogue matches a failure, a model of its samples' words may guess the
    cause (confidence low) and shows the words that decided. Lines that continue
    a message (indented, `Caused by:`, a Go OAuth2 client's `Response: {…}`,
    next-auth's `https://next-auth.js.org/errors#…` line) belong to it. A
    message that reports a failure (ERROR, a 401, "denied") in words naming
    no cause tokenaudit knows says so, and what evidence would decide. Exit
    code 5 when some message holds no failure tokenaudit recognises.

    Example: tokenaudit why 'msg=Failed to verify ID token: Invalid audiences: `3775…` is not a trusted audience'
    """
    from .analysis.answers import why
    from .catalogue.loading import load_catalogue
    from .render.answers import render_answers
    from .store.dataset import dataset_root, read_realms

    with cli_errors():
        if not messages or messages == ["-"]:
            text = sys.stdin.read()
        else:
            text = "\n".join(messages)
        if not text.strip():
            raise InputError("no message given", hint="paste it as an argument in single quotes, or pipe it: "
                                                      "pbpaste | tokenaudit why -")
        realms = read_realms(dataset_root(dataset)) if dataset is not None else None
        catalogue = load_catalogue(signatures or [])
        _announce_training(_progress_console(), catalogue)
        answers = why(text, catalogue=catalogue, realms=realms)
    if output_format is ReportFormat.json:
        typer.echo(json.dumps([answer.to_dict() for answer in answers], indent=2, ensure_ascii=False))
    else:
        typer.echo(render_answers(answers))
    if any(answer.cause is None for answer in answers):
        raise typer.Exit(EXIT_NOT_RECOGNISED)


@app.command("events")
def events_command(
    *,
    dataset: DatasetOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    output_format: Annotated[EventFormat, typer.Option("--format", "-f", help="jsonl or csv.")] = EventFormat.jsonl,
    signatures: SignaturesOption = None,
) -> None:
    """Export one row per failure event, classified, for scripts and other tools.

    Columns start with ts, source_file, line_no, format, cause, signature, message.

    Example: tokenaudit events --since 24h --format csv > failures.csv
    """
    from .analysis.export import iter_paired_events
    from .analysis.failures import paired_events
    from .catalogue.loading import load_catalogue
    from .render.tables import render_events
    from .store.dataset import dataset_root

    with cli_errors():
        root = dataset_root(dataset)
        start, end = _window(since, until)
        catalogue = load_catalogue(signatures or [])
        columns: list[str] | None = None
        # A day at a time: memory holds a day's events, never the dataset's.
        for day in iter_paired_events(root, since=start, until=end, catalogue=catalogue):
            text = render_events(day if columns is None else day.reindex(columns=columns), fmt=output_format.value)
            if columns is not None and output_format is EventFormat.csv:
                text = text.partition("\n")[2]  # the header was written with the first day
            columns = columns or list(day.columns)
            typer.echo(text, nl=False)
        if columns is None and output_format is EventFormat.csv:  # no event: the header alone
            empty = paired_events(_read_window(root, since, until), catalogue)
            typer.echo(render_events(empty, fmt="csv"), nl=False)


@app.command("formats")
def formats_command() -> None:
    """List the input formats tokenaudit detects, in detection order.

    Example: tokenaudit formats
    """
    from .formats.parsing import load_formats

    for fmt in load_formats().values():
        typer.echo(f"{fmt.name:18} {fmt.title}")


@signatures_app.command("list", cls=_UsageWithoutHidden)
def signatures_list(
    _files: Annotated[Optional[list[str]], _signature_files_argument("list")] = None,  # noqa: UP045
    *,
    signatures: SignaturesOption = None,
    coverage: Annotated[
        bool,
        typer.Option("--coverage", help="Print the coverage per family as a Markdown table."),
    ] = False,
) -> None:
    """List signatures: id, cause, and where the text comes from.

    Example: tokenaudit signatures list --coverage
    """
    from .catalogue.coverage import coverage_table
    from .catalogue.loading import load_catalogue

    with cli_errors():
        catalogue = load_catalogue(signatures or [])
    if coverage:
        typer.echo(coverage_table(catalogue))
        return
    for signature in catalogue.signatures:
        typer.echo(f"{signature.id:45} {signature.cause or '(envelope)':26} {signature.source[:80]}")


@signatures_app.command("check", cls=_UsageWithoutHidden)
def signatures_check(
    _files: Annotated[Optional[list[str]], _signature_files_argument("check")] = None,  # noqa: UP045
    *,
    signatures: SignaturesOption = None,
) -> None:
    """Check signatures against their samples, as the test suite checks the built-in catalogue.

    The built-in signatures are checked with the files of --signatures. Exit code 3 when a problem is found.
    A sample of your files that fires only as written, not with the user's spans masked as a real line is
    searched (a quoted reason, a path, a user= value), is a warning: the entry would not fire on that line.

    Example: tokenaudit signatures check --signatures my-validator.toml
    """
    from .catalogue.loading import load_catalogue
    from .catalogue.samples import check_catalogue, samples_lost_to_masking

    with cli_errors():
        catalogue = load_catalogue(signatures or [])
        problems = check_catalogue(catalogue)
        hidden = samples_lost_to_masking(catalogue, files=signatures or [])
    for problem in problems:
        typer.echo(str(problem))
    for warning in hidden:
        typer.echo(f"warning: {warning}")
    if hidden:
        typer.echo(f"{len(hidden)} sample(s) fire only as written: give the line as it is logged, or a pattern "
                   "that does not need the masked words")
    typer.echo(f"{len(problems)} problem(s)")
    if problems:
        raise typer.Exit(EXIT_CHECK_FAILED)


class ReportKind(StrEnum):
    html = "html"
    markdown = "markdown"
    json = "json"


@app.command("report")
def report_command(
    *,
    dataset: DatasetOption = None,
    since: Annotated[
        str,
        typer.Option(help="Start of the period: 24h, 7d (back from --until, else from now), a date or an ISO time."),
    ] = "24h",
    until: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="End of the period (same forms as --since) \\[default: now]."),
    ] = None,
    output_format: Annotated[
        ReportKind,
        typer.Option("--format", "-f", help="html (one self-contained file), markdown, or json."),
    ] = ReportKind.markdown,
    out: OutputFileOption = None,
    signatures: SignaturesOption = None,
    fail_on: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--fail-on", help="Exit 3 when: new (a cause the previous period lacked), any, or a cause id. Repeatable."
        ),
    ] = None,
    config: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="tokenaudit.toml naming relying parties."),
    ] = None,
    pseudonymize: Annotated[
        bool,
        typer.Option(
            "--pseudonymize",
            help="Replace subjects, e-mails, user names and client addresses with keyed pseudonyms (user-3f9a1c2b), "
                 "for a wider audience.",
        ),
    ] = False,
    dask: ReadOnClusterOption = None,
    _out: Annotated[Optional[str], _renamed("--out", new="--output/-o")] = None,  # noqa: UP045
) -> None:
    """Report a period: security findings, what changed against the period before, top causes and fixes.

    The previous period has the same length and ends where this one starts.
    With --fail-on the exit code is 3 when a condition holds, for alerting.

    With --pseudonymize, people and client addresses become keyed pseudonyms,
    the same in every report made with the same fingerprint key.

    Example: tokenaudit report --since 24h --format html --output report.html --fail-on new
    """
    import pandas as pd

    from .analysis.report import build_report
    from .catalogue.loading import load_catalogue
    from .render.report import render_report
    from .store.dataset import dataset_root
    from .tokens.relying_parties import load_relying_parties

    with cli_errors(), _cluster(dask) as client:
        root = dataset_root(dataset)
        start, end = _window(since, until)
        report = build_report(root, since=cast(pd.Timestamp, start), until=end,
                              parties=load_relying_parties(config) if config else None,
                              catalogue=load_catalogue(signatures or []), pseudonymize=pseudonymize, client=client)
        text = render_report(report, fmt=output_format.value)
        if out is not None:
            write_text(out, text)
    if out is None:
        typer.echo(text, nl=False)
    else:
        _err(f"report written to {out}")
    triggered = report.triggers(fail_on or [])
    if triggered:
        _err("fail-on: " + "; ".join(triggered))
        raise typer.Exit(EXIT_CHECK_FAILED)


class ScheduleKind(StrEnum):
    cron = "cron"
    systemd = "systemd"


@app.command("schedule")
def schedule_command(
    paths: Annotated[list[str], typer.Argument(help="The logs to ingest every night (folders and globs too).")],
    *,
    print_kind: Annotated[
        ScheduleKind,
        typer.Option("--print", help="cron (a crontab line) or systemd (service and timer)."),
    ] = ScheduleKind.cron,
    dataset: DatasetOption = None,
    reports: Annotated[Path, typer.Option(help="Folder for the dated reports.")] = Path("/var/lib/tokenaudit/reports"),
    keep: Annotated[int, typer.Option(min=1, help="Delete reports older than this many days.")] = 14,
    at: Annotated[str, typer.Option(help="Time of day, HH:MM.")] = "02:15",
) -> None:
    """Print a nightly job (crontab line, or systemd service and timer): ingest, compact, report, prune.

    Example: tokenaudit schedule /var/log/syslog /etc/pve/domains.cfg --print systemd --reports /srv/reports
    """
    from .analysis.schedule import crontab_line, nightly_command, systemd_units
    from .store.dataset import dataset_root

    with cli_errors():
        if not re.fullmatch(r"(?:[01]?\d|2[0-3]):[0-5]\d", at):
            raise InputError(f"--at {at!r} is not a time of day", hint="use HH:MM, such as 02:15")
        root = dataset_root(dataset)
        command = nightly_command(paths, dataset=root.absolute() if isinstance(root, Path) else root,
                                  reports=reports.absolute(), keep=keep)
    typer.echo(crontab_line(command, at=at) if print_kind is ScheduleKind.cron else systemd_units(command, at=at))


class Expect(StrEnum):
    id = "id"
    access = "access"


@app.command("explain")
def explain_command(
    source: Annotated[
        str,
        typer.Argument(help="File holding the token, or - for stdin (never the token itself)."),
    ] = "-",
    *,
    rp_name: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--rp", help="Relying party from --config, or a Proxmox realm of --dataset."),
    ] = None,
    config: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="tokenaudit.toml with [[relying_party]] tables \\[default: ./tokenaudit.toml if present]."),
    ] = None,
    dataset: DatasetOption = None,
    client_id: Annotated[Optional[str], typer.Option(help="The relying party's client id.")] = None,  # noqa: UP045
    audience: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(help="A trusted audience besides the client id (repeatable)."),
    ] = None,
    issuer: Annotated[Optional[str], typer.Option(help="The expected issuer, exactly.")] = None,  # noqa: UP045
    algorithms: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Accepted algorithms, comma-separated (RS256,ES256)."),
    ] = None,
    expect: Annotated[
        Optional[Expect],  # noqa: UP045
        typer.Option(help="Which token the relying party checks: id or access."),
    ] = None,
    jwks: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="JWKS file or URL to check the signature against."),
    ] = None,
    verify: Annotated[
        bool,
        typer.Option("--verify", help="Fetch the issuer's discovery document and JWKS (network)."),
    ] = False,
    at: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Judge times at this moment (ISO 8601 or epoch seconds) \\[default: now]."),
    ] = None,
    output_format: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="text, or json for scripts."),
    ] = ReportFormat.text,
) -> None:
    """Explain one token: its claims, its kind, and every cause the relying party rejects it for.

    The token is read from FILE or standard input, never from the command
    line, so it stays out of shell history and process listings.

    Example: pbpaste | tokenaudit explain --client-id 377576883644006407 --issuer https://auth.example.com --expect id
    """
    from .render.tables import render_diagnosis
    from .tokens.decode import load_fingerprint_key
    from .tokens.explain import explain_token
    from .tokens.relying_parties import with_overrides

    with cli_errors():
        text = sys.stdin.read() if source == "-" else _read_text(Path(source))
        party = _relying_party(rp_name, config, dataset)
        party = with_overrides(party, client_id=client_id, audiences=audience, issuer=issuer,
                               expect=expect.value if expect else None,
                               algorithms=[a.strip() for a in algorithms.split(",")] if algorithms else None, jwks=jwks)
        info, diagnosis = explain_token(text, party, key=load_fingerprint_key(),
                                        at=_moment(at) if at is not None else None, verify=verify)
    typer.echo(render_diagnosis(diagnosis, info, fmt="json" if output_format is ReportFormat.json else "text"),
               nl=False)


def write_text(path: Path, text: str) -> None:
    """Write a report file (creating its folder), as one clear error if that fails."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"{path}: cannot write the report: {exc.strerror}",
                          hint="check the folder and its permissions") from None


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}",
                         hint="give the file holding the token, or - to read it from standard input") from None


def _moment(text: str) -> pd.Timestamp:
    from .common.timestamps import parse_time_bound

    stamp = parse_time_bound(text)
    return stamp


def _relying_party(name: str | None, config: Path | None, dataset: str | None) -> RelyingParty:
    from .store.dataset import dataset_root, read_realms
    from .tokens.relying_parties import RelyingParty, load_relying_parties, relying_party_from_realm

    parties: dict[str, RelyingParty] = {}
    config = config or (Path("tokenaudit.toml") if Path("tokenaudit.toml").is_file() else None)
    if config is not None:
        parties.update(load_relying_parties(config))
    root = dataset_root(dataset)
    if name is not None and name not in parties and (isinstance(root, str) or root.exists()):
        for realm in read_realms(root).to_dict("records"):
            if realm["type"] == "openid":
                parties.setdefault(realm["realm"], relying_party_from_realm(realm))
    if name is None:
        return RelyingParty("command-line flags")
    if name not in parties:
        raise InputError(f"no relying party {name!r}", hint=f"known: {', '.join(parties) or 'none'}; "
                         "declare it in tokenaudit.toml or ingest /etc/pve/domains.cfg")
    return parties[name]


@signatures_app.command("try")
def signatures_try(
    log: Annotated[Path, typer.Argument(help="A log file to try the catalogue on.")],
    *,
    signatures: SignaturesOption = None,
    input_format: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--input-format", help="Force the log format (see `tokenaudit formats`) \\[default: detected]."),
    ] = None,
    signature: Annotated[Optional[str], typer.Option(help="Show only this signature's matches.")] = None,  # noqa: UP045
    show_missed: Annotated[
        bool,
        typer.Option(
            "--show-missed/--hide-missed", help="List failure-looking lines no signature matches, by template."
        ),
    ] = True,
    _format: Annotated[Optional[str], _renamed("--format", "-f", new="--input-format")] = None,  # noqa: UP045
) -> None:
    """Show which lines of LOG each signature matches, and failure-looking lines none explains.

    Like fail2ban-regex: use it to write a signature for a validator
    tokenaudit does not know yet, then `tokenaudit signatures check --signatures FILE`.

    Example: tokenaudit signatures try /var/log/nginx/error.log --signatures mine.toml
    """
    from .catalogue.loading import load_catalogue
    from .pipeline.trial import try_signatures
    from .render.tables import render_trial

    with cli_errors():
        if not log.is_file():
            raise InputError(f"{log}: no such file", hint="give one log file (not a folder)")
        trial = try_signatures(log, load_catalogue(signatures or []), format_name=input_format, signature_id=signature)
    typer.echo(render_trial(trial, show_missed=show_missed), nl=False)


def main() -> None:
    """Entry point of the console script."""
    prefer_system_allocator()
    app()


def prefer_system_allocator() -> None:
    """Have Arrow allocate with the C library's allocator in this process (and the workers it starts).

    Arrow's default, mimalloc, keeps freed blocks for reuse: an ingest's peak
    resident memory grew with the file although Arrow held 30-95 MB at any
    moment. Measured on the same files (wall time equal or lower): 20,000,000
    Proxmox syslog lines 508 -> 377 MB, 5,000,000 nginx lines 386 -> 333 MB,
    1,000,000 journal lines 362 -> 332 MB. Set before Arrow is first used,
    through the variable Arrow reads, so a user's own
    ``ARROW_DEFAULT_MEMORY_POOL`` still wins; a notebook importing the library
    keeps Arrow's default.
    """
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")


@app.command("compact")
def compact_command(
    *,
    dataset: DatasetOption = None,
    target_mb: Annotated[
        int,
        typer.Option(
            "--target-mb", min=1, help="Largest merged batch, MB on disk; batches under a quarter of it are merged."
        ),
    ] = COMPACT_TARGET_MB,
    output_format: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="text, or json for scripts."),
    ] = ReportFormat.text,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh/--no-refresh",
            help="Also rewrite the batches holding events classified with another catalogue (after an upgrade), "
                 "matched again with the built-in one, so that analysis need not match them on every run.",
        ),
    ] = True,
    _output: Annotated[Optional[str], _renamed("--output", "-o", new="--format/-f")] = None,  # noqa: UP045
) -> None:
    """Merge the many small batches frequent ingests leave into a few large ones, so that reading stays fast.

    Safe while ingests and readers run, and if killed: readers see the old
    batches or the merged one, never both; what a killed run left is removed
    by the next. The nightly job (`tokenaudit schedule`) runs it after ingest.

    Example: tokenaudit compact --dataset /var/lib/tokenaudit/dataset
    """
    from .render.compaction import render_compact_report
    from .store.compact import compact
    from .store.dataset import dataset_root

    with cli_errors():
        renewal = None
        if refresh:
            from functools import partial

            from .analysis.refresh import refreshed_events
            from .catalogue.loading import load_catalogue
            from .store.compact import Refresh
            from .store.looseness import Looseness

            catalogue = load_catalogue()
            renewal = Refresh(Looseness.of(catalogue), partial(refreshed_events, catalogue=catalogue))
        report = compact(dataset_root(dataset), target_bytes=target_mb << 20, refresh=renewal)
    typer.echo(json.dumps(report.to_dict(), indent=2) if output_format is ReportFormat.json
               else render_compact_report(report))
