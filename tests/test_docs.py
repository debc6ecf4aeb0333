"""The README documents every command, cause and format; every command has help with an example."""

from __future__ import annotations

import pytest
import typer.main

from tokenaudit.causes import CAUSE_IDS
from tokenaudit.cli import app
from tokenaudit.formats import load_formats

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
    from tokenaudit.catalogue import coverage_table, load_catalogue

    assert coverage_table(load_catalogue()) in README, "regenerate with `tokenaudit signatures list --coverage`"
