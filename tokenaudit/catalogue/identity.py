"""Who wrote a log line, and how far that can be believed.

A line names its program in one of two kinds of field:

- a field its writer cannot set: journald's ``_COMM`` (the ``writer`` column
  of a record) is filled by journald from the sending process;
- a field its writer chooses: a syslog tag, an RFC 5424 APP-NAME, journald's
  ``SYSLOG_IDENTIFIER`` (the ``process`` column), which ``logger -t pvedaemon``
  writes as any local user.

So every event records the strength of its writer's identity
(:data:`IDENTITIES`): ``trusted``, ``claimed`` or ``none`` (a log without a
program field, pasted text). A signature of software that
``data/programs.toml`` ties to its programs (Proxmox's ``pvedaemon``,
``pveproxy``) belongs to a line only when the line's program is one of them;
a line written by another program, or by a program that writes what a user
gives it (``logger``), is *suspicious*: it is no failure of that software, and
the reason is recorded (:func:`suspicions`) for the report's security
findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..common.datafiles import check_keys, package_data, read_toml
from ..errors import CatalogueError
from .user_text import searchable_rows

#: This package's TOML files.
DATA_DIR = package_data("tokenaudit.catalogue")

#: How far a line's program can be believed, strongest first (the ``identity`` column).
IDENTITIES = ("trusted", "claimed", "none")
#: journald keeps a process name to this many bytes in ``_COMM``.
COMM_LENGTH = 15


@dataclass(frozen=True)
class Programs:
    """The programs that write each tied software's messages (``data/programs.toml``)."""

    names: Mapping[str, tuple[str, ...]]  # in the file's order, the main programs first

    def agrees(self, software: str, process: str | None, writer: str | None) -> bool:
        """Whether a line of ``process``/``writer`` may carry ``software``'s text.

        Examples
        --------
        >>> programs = load_programs()
        >>> programs.agrees("proxmox", "pvedaemon", "pvedaemon worke"), programs.agrees("proxmox", "alice", None)
        (True, False)
        >>> programs.agrees("pyjwt", "anything", None)  # a library is tied to no program
        True
        """
        names = self.names.get(software)
        if not names:
            return True
        if writer:
            return _program(writer)[:COMM_LENGTH] in {name[:COMM_LENGTH] for name in names}
        if process:
            return _program(process) in names
        return True


def _program(name: str) -> str:
    """A program name as compared: lower case, without its folder."""
    return name.strip().lower().rsplit("/", 1)[-1]


def read_programs(path: Path) -> Programs:
    """Read and check a programs file: each entry's samples must agree or disagree as they say.

    Raises
    ------
    CatalogueError
        On a missing or unknown key, or a sample that does not hold.
    """
    data = read_toml(path)
    check_keys(data, required=("program",), optional=(), path=str(path))
    names: dict[str, tuple[str, ...]] = {}
    for entry in data["program"]:
        check_keys(entry, required=("software", "names", "source"), optional=("sample",), path=str(path),
                   where=str(entry.get("software", "?")))
        names[str(entry["software"])] = tuple(dict.fromkeys(_program(str(n)) for n in entry["names"]))
    programs = Programs(names)
    for entry in data["program"]:
        for sample in entry.get("sample", []):
            check_keys(sample, required=("agrees",), optional=("process", "writer"), path=str(path),
                       where=str(entry["software"]))
            got = programs.agrees(str(entry["software"]), sample.get("process"), sample.get("writer"))
            if got != bool(sample["agrees"]):
                raise CatalogueError(f"sample {sample} gives agrees = {got}", path=str(path),
                                     signature_id=str(entry["software"]), hint="fix the names or the sample")
    return programs


@cache
def load_programs() -> Programs:
    """The built-in programs file (``data/programs.toml``)."""
    return read_programs(DATA_DIR / "programs.toml")


def identity_of(processes: pa.Array | None, writers: pa.Array | None, n: int) -> pa.Array:
    """The strength of each line's program identity: ``trusted``, ``claimed`` or ``none``.

    Examples
    --------
    >>> identity_of(pa.array(["pvedaemon", "pvedaemon", None]), pa.array(["pvedaemon worke", None, None]),
    ...             3).to_pylist()
    ['trusted', 'claimed', 'none']
    """
    identity = np.full(n, "none", dtype=object)
    if processes is not None:
        identity[_present(processes)] = "claimed"
    if writers is not None:
        identity[_present(writers)] = "trusted"
    return pa.array(identity, pa.string())


def _present(values: pa.Array) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    present = pc.and_(values.is_valid(), pc.not_equal(pc.fill_null(values, ""), ""))
    return np.asarray(pc.fill_null(present, False).to_numpy(zero_copy_only=False), dtype=bool)


def suspicions(
    software: Iterable[str | None],
    processes: Iterable[str | None],
    writers: Iterable[str | None],
    echo_programs: frozenset[str],
    programs: Programs | None = None,
) -> list[str | None]:
    """Why each matched line is not the failure its text claims, or ``None`` where nothing contradicts it.

    Parameters
    ----------
    software
        The software whose text was found on each line (the envelope's, else the signature's); ``None`` where
        nothing was found.
    processes, writers
        Each line's program as it names itself (syslog tag) and as journald saw it (``_COMM``).
    echo_programs
        Programs that write what a user gives them (``logger``, ``sshd`` …).

    Examples
    --------
    >>> for reason in suspicions(["proxmox", "proxmox", None], ["alice", "pvedaemon", "x"], [None, "logger", None],
    ...                          frozenset({"logger"})):
    ...     print(reason)
    proxmox's text under the syslog tag `alice`, which is not a program of proxmox (pvedaemon, pveproxy …): any local user can write such a line with `logger -t`
    written by `logger` (journald _COMM), which writes whatever a user gives it, under the tag `pvedaemon`
    None
    """  # noqa: E501 - the doctest output is one line, and doctest compares it whole
    programs = programs or load_programs()
    writers = list(writers)
    # the same test as the search's: a writer that echoes user input (tokenaudit.catalogue.user_text.searchable_rows)
    echoes = ~searchable_rows(pa.array(writers, pa.string()), len(writers), echo_programs)
    reasons: list[str | None] = []
    for name, process, writer, echo in zip(software, processes, writers, echoes, strict=True):
        if name is None:
            reasons.append(None)
        elif writer and echo:
            tag = f", under the tag `{process}`" if process and _program(process) != _program(writer) else ""
            reasons.append(f"written by `{writer}` (journald _COMM), which writes whatever a user gives it{tag}")
        elif programs.agrees(name, process, writer):
            reasons.append(None)
        elif writer:
            reasons.append(f"{name}'s text, but journald saw `{writer}` write it (_COMM, which no client sets), "
                           f"not a program of {name} ({_listed(programs, name)})")
        else:
            reasons.append(f"{name}'s text under the syslog tag `{process}`, which is not a program of {name} "
                           f"({_listed(programs, name)}): any local user can write such a line with `logger -t`")
    return reasons


def _listed(programs: Programs, software: str) -> str:
    names = programs.names.get(software, ())
    return ", ".join(names[:2]) + (" …" if len(names) > 2 else "")
