"""The ``tokenaudit`` command: a thin layer over the library.

Each command parses its options, calls the library, and prints what it
returns. Exit codes: 0 success; 1 an error tokenaudit explains (``error:``
and ``hint:`` on stderr); 2 a usage error; 3 ``signatures check`` found
problems; 4 ingest finished but some inputs could not be read.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from . import __version__
from .analysis import classify, failure_groups
from .catalogue import load_catalogue
from .dataset import default_dataset_path, read_events, read_realms
from .errors import TokenAuditError
from .formats import load_formats
from .ingest import Progress, ingest
from .render import ingest_report_to_dict, render_events, render_groups, render_ingest_report
from .samples import check_catalogue
from .timestamps import parse_time_bound

EXIT_ERROR = 1
EXIT_CHECK_FAILED = 3
EXIT_PARTIAL = 4

app = typer.Typer(
    name="tokenaudit",
    help="Tell why OIDC/JWT logins and API calls are rejected, and what to change.\n\n"
    "Example: `tokenaudit ingest /var/log/syslog /etc/pve/domains.cfg`, then `tokenaudit analyze`.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
signatures_app = typer.Typer(help="List and check signatures (the catalogue of validator messages).", no_args_is_help=True)
app.add_typer(signatures_app, name="signatures")

DatasetOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional here
    typer.Option("--dataset", "-d", help="Dataset folder \\[default: $TOKENAUDIT_DATASET or ~/.local/share/tokenaudit/dataset]."),
]
SinceOption = Annotated[Optional[str], typer.Option(help="Only events at or after: 24h, 7d, 2025-03-24, or an ISO time.")]  # noqa: UP045
UntilOption = Annotated[Optional[str], typer.Option(help="Only events before this time (same forms as --since).")]  # noqa: UP045


class GroupFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"


class EventFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"


class ReportFormat(str, Enum):
    text = "text"
    json = "json"


def _err(text: str) -> None:
    typer.echo(text, err=True)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn a :class:`TokenAuditError` into ``error:``/``hint:`` lines and exit code 1."""
    try:
        yield
    except TokenAuditError as exc:
        _err(f"error: {exc}")
        if exc.hint:
            _err(f"hint: {exc.hint}")
        raise typer.Exit(EXIT_ERROR) from None


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
    paths: Annotated[list[str], typer.Argument(help="Log files, folders, glob patterns, /etc/pve/domains.cfg, or - for stdin.")],
    *,
    dataset: DatasetOption = None,
    format_name: Annotated[Optional[str], typer.Option("--format", "-f", help="Force this input format (see `tokenaudit formats`).")] = None,  # noqa: UP045
    timezone: Annotated[Optional[str], typer.Option(help="Zone of log times that carry none (RFC 3164 syslog) \\[default: this machine's].")] = None,  # noqa: UP045
    output: Annotated[ReportFormat, typer.Option("--output", "-o", help="text, or json for scripts.")] = ReportFormat.text,
    signatures: Annotated[Optional[list[Path]], typer.Option("--signatures", help="Extra signature file(s) to use.")] = None,  # noqa: UP045
) -> None:
    """Read logs and realm configuration into the dataset, adding only what is new.

    Formats are detected per file. Re-running over the same files reads only
    lines added since; rotated and compressed copies are recognised. Ends
    with the line accounting: read = parsed + skipped + rejected.

    Example: tokenaudit ingest /var/log/syslog* /etc/pve/domains.cfg
    """
    with cli_errors():
        catalogue = load_catalogue(signatures or [])
        progress = _progress_printer() if sys.stderr.isatty() and output is ReportFormat.text else None
        report = ingest(paths, dataset or default_dataset_path(), format_name=format_name,
                        timezone=timezone, catalogue=catalogue, progress=progress)
    if progress:
        _err("")
    if output is ReportFormat.json:
        import json

        typer.echo(json.dumps(ingest_report_to_dict(report), indent=2))
    else:
        typer.echo(render_ingest_report(report))
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL)


def _progress_printer() -> object:
    def show(update: Progress) -> None:
        share = f" {update.bytes_read / update.size:4.0%}" if update.size else ""
        sys.stderr.write(f"\r{update.source}: {update.bytes_read / 1e6:,.1f} MB{share}   ")
        sys.stderr.flush()

    return show


def _read_window(root: Path, since: str | None, until: str | None) -> pd.DataFrame:
    return read_events(root, since=parse_time_bound(since) if since else None,
                       until=parse_time_bound(until) if until else None)


@app.command("analyze")
def analyze_command(
    *,
    dataset: DatasetOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    output_format: Annotated[GroupFormat, typer.Option("--format", "-f", help="table, markdown, or json.")] = GroupFormat.table,
    signatures: Annotated[Optional[list[Path]], typer.Option("--signatures", help="Extra signature file(s) to use.")] = None,  # noqa: UP045
) -> None:
    """Group failures by cause, relying party and offending value, with the fix for each.

    Example: tokenaudit analyze --since 7d --format markdown
    """
    with cli_errors():
        root = dataset or default_dataset_path()
        events = _read_window(root, since, until)
        groups = failure_groups(events, read_realms(root), catalogue=load_catalogue(signatures or []))
    typer.echo(render_groups(groups, fmt=output_format.value))


@app.command("events")
def events_command(
    *,
    dataset: DatasetOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    output_format: Annotated[EventFormat, typer.Option("--format", "-f", help="jsonl or csv.")] = EventFormat.jsonl,
) -> None:
    """Export one row per failure event, classified, for scripts and other tools.

    Columns start with ts, source_file, line_no, format, cause, signature, message.

    Example: tokenaudit events --since 24h --format csv > failures.csv
    """
    with cli_errors():
        events = _read_window(dataset or default_dataset_path(), since, until)
        text = render_events(classify(events), fmt=output_format.value)
    typer.echo(text, nl=False)


@app.command("formats")
def formats_command() -> None:
    """List the input formats tokenaudit detects, in detection order.

    Example: tokenaudit formats
    """
    for fmt in load_formats().values():
        typer.echo(f"{fmt.name:18} {fmt.title}")


@signatures_app.command("list")
def signatures_list(
    signatures: Annotated[Optional[list[Path]], typer.Argument(help="Extra signature files to include.")] = None,  # noqa: UP045
) -> None:
    """List signatures: id, cause, and where the text comes from.

    Example: tokenaudit signatures list
    """
    with cli_errors():
        catalogue = load_catalogue(signatures or [])
    for signature in catalogue.signatures:
        typer.echo(f"{signature.id:45} {signature.cause or '(envelope)':26} {signature.source[:80]}")


@signatures_app.command("check")
def signatures_check(
    signatures: Annotated[Optional[list[Path]], typer.Argument(help="Signature files to check with the built-in ones.")] = None,  # noqa: UP045
) -> None:
    """Check signatures against their samples, as the test suite checks the built-in catalogue.

    Exit code 3 when a problem is found.

    Example: tokenaudit signatures check my-validator.toml
    """
    with cli_errors():
        problems = check_catalogue(load_catalogue(signatures or []))
    for problem in problems:
        typer.echo(str(problem))
    typer.echo(f"{len(problems)} problem(s)")
    if problems:
        raise typer.Exit(EXIT_CHECK_FAILED)


def main() -> None:
    """Entry point of the console script."""
    app()
