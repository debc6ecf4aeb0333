"""The README documents every command, cause and format; every command has help with an example."""

from __future__ import annotations

import re

import pytest
import typer.main

from tokenaudit.causes.definitions import CAUSE_IDS
from tokenaudit.cli import app
from tokenaudit.formats.parsing import load_formats

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[tuple[str, object]]:
    group = typer.main.get_command(app)
    found = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        if hasattr(command, "commands"):
            found += [(f"{name} {sub}", subcommand) for sub, subcommand in command.commands.items()]
        else:
            found.append((name, command))
    return found


@pytest.mark.parametrize(("name", "command"), _commands(), ids=[n for n, _ in _commands()])
def test_command_has_help_with_example_and_is_in_readme(name: str, command: object) -> None:
    help_text = command.help or ""  # type: ignore[attr-defined]
    assert help_text.strip(), f"{name} has no help"
    assert "Example:" in help_text, f"{name} --help shows no example"
    assert f"tokenaudit {name}" in README, f"README does not mention `tokenaudit {name}`"


@pytest.mark.parametrize("cause", CAUSE_IDS)
def test_readme_lists_every_cause(cause: str) -> None:
    assert f"| `{cause}` |" in README


@pytest.mark.parametrize("name", list(load_formats()))
def test_readme_lists_every_format(name: str) -> None:
    assert f"| `{name}` |" in README


def test_readme_names_the_two_setup_commands_and_ci_uses_the_test_one() -> None:
    assert "`make demo`" in README and "`make test`" in README
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_coverage_table_is_current() -> None:
    from tokenaudit.catalogue.coverage import coverage_table
    from tokenaudit.catalogue.loading import load_catalogue

    assert coverage_table(load_catalogue()) in README, "regenerate with `tokenaudit signatures list --coverage`"


def _readme_row(name: str) -> str:
    """The command cell of the README's command table for ``tokenaudit NAME``."""
    rows = [line for line in README.splitlines() if line.startswith(f"| `tokenaudit {name}")
            and line[len(f"| `tokenaudit {name}"):][:1] in (" ", "`")]
    assert len(rows) == 1, f"README's command table has {len(rows)} rows for `tokenaudit {name}`"
    return rows[0].split("` |")[0]


def _long_options(command: object) -> set[str]:
    """The long options ``--help`` shows (hidden ones, old spellings kept only to name the new, left out)."""
    return {opt for param in command.params  # type: ignore[attr-defined]
            if not getattr(param, "hidden", False) and param.param_type_name == "option"
            for opt in (*param.opts, *param.secondary_opts) if opt.startswith("--") and opt != "--help"}


@pytest.mark.parametrize(("name", "command"), _commands(), ids=[n for n, _ in _commands()])
def test_readme_command_table_and_help_name_the_same_options(name: str, command: object) -> None:
    row = _readme_row(name)
    in_readme = set(re.findall(r"--[a-z][a-z-]*", row))
    assert in_readme == _long_options(command), f"README row: {row}"


#: What each option means, the same in every command that has it.
MEANINGS = {"--format": "output format", "--input-format": "log format", "--output": "file", "--signatures": "file"}


def test_an_option_means_the_same_in_every_command() -> None:
    seen: dict[str, set[tuple[str, str]]] = {}
    for name, command in _commands():
        for param in command.params:  # type: ignore[attr-defined]
            if getattr(param, "hidden", False) or param.param_type_name != "option":
                continue
            for opt in param.opts:
                seen.setdefault(opt, set()).add((name, "-".join(sorted(param.opts))))
    for opt in MEANINGS:
        assert len({names for _, names in seen[opt]}) == 1, f"{opt} is spelt differently: {seen[opt]}"
    assert {name for name, _ in seen["--signatures"]} >= {"ingest", "analyze", "why", "events", "report",
                                                         "signatures check", "signatures list", "signatures try"}
    assert "-f" in seen and all("--format" in names for _, names in seen["-f"])
    assert "-o" in seen and all("--output" in names for _, names in seen["-o"])
