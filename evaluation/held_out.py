"""Prepare a held-out round: the addresses its gatherers must skip, and the records the evaluation admits.

A held-out round (``freshN/lines.jsonl``) is gathered by someone who never saw the
catalogue, from public threads that nothing in the project cites, and measured
before anyone reads it (``README.md`` here). Two steps of that are mechanical,
and kept here so that a round can be prepared again on a new machine:

- ``cited``: every web address cited anywhere in the project (the sets, the
  catalogue's sources, the tests, the sample logs, the notes), normalised, one per
  line: the gatherers' skip list.
- ``admit``: the gathered records that the evaluation's tests accept: a line that
  is a catalogue or format sample or a sample-log line (or, 60 characters or more,
  stands inside one) is dropped, as is a record whose thread a set already
  cites, one holding a raw token, and a line gathered twice; the rest are
  numbered ``<name>-0001`` … in the order given.

Run ``python evaluation/held_out.py cited skip.txt`` before gathering, and
``python evaluation/held_out.py admit fresh35 raw_a.jsonl raw_b.jsonl`` after
it (it writes ``fresh35/lines.jsonl`` and prints what it dropped).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: A web address as text cites it: up to a space, a quote, a bracket or a backslash.
ADDRESS = re.compile(r"https?://[^\s\"'<>`\\)\]]+")
#: A raw JWT: what no evaluation line may hold (``tests/test_evaluation.py``).
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
#: Folders whose files cite nothing of the project's own.
NOT_CITING = frozenset({".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache",
                        ".pytest_cache", "build", "dist"})


def normalise_address(address: str) -> str:
    """One spelling per thread: no fragment, https, no ``www.``, no trailing slash or punctuation, lower case.

    Examples
    --------
    >>> normalise_address("http://www.GitHub.com/a/b/issues/7#issuecomment-1).")
    'https://github.com/a/b/issues/7'
    """
    address = address.split("#", 1)[0].rstrip(".,;:!?*'\")")
    address = re.sub(r"^http://", "https://", address)
    address = re.sub(r"^https://www\.", "https://", address)
    return address.rstrip("/").lower()


def cited_addresses(root: Path = ROOT) -> set[str]:
    """Every address any text file under ``root`` cites, normalised (:func:`normalise_address`)."""
    found: set[str] = set()
    for path in root.rglob("*"):
        if not path.is_file() or NOT_CITING & set(path.relative_to(root).parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # a binary file (parquet, images) cites nothing
            continue
        found.update(normalise_address(address) for address in ADDRESS.findall(text))
    return found


def catalogue_texts() -> list[str]:
    """The texts the catalogue was written from: signature and format samples, and the sample logs' lines."""
    from tokenaudit import load_catalogue
    from tokenaudit.formats.parsing import load_formats

    texts = [s.message.strip() for sig in load_catalogue().signatures for s in sig.samples]
    texts += [f.line.strip() for fmt in load_formats().values() for f in fmt.samples]
    texts += [line.strip() for path in sorted((ROOT / "sample_logs").rglob("*")) if path.is_file()
              for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    return texts


@dataclass
class Admission:
    """The records a round keeps, and how many were dropped for which reason."""

    kept: list[dict[str, object]] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)


def admit(records: Iterable[dict[str, object]], name: str, samples: list[str],
          cited_sources: set[str]) -> Admission:
    """The records of round ``name`` that the evaluation admits, renumbered; see the module's text.

    Examples
    --------
    >>> raw = [{"id": "a-1", "line": "ERROR auth: Token is expired", "source": "https://x.org/t/1"},
    ...        {"id": "a-2", "line": "Token is expired", "source": "https://x.org/t/2"},
    ...        {"id": "a-3", "line": "WARN login refused", "source": "https://x.org/t/3"}]
    >>> result = admit(raw, "fresh99", samples=["Token is expired"], cited_sources={"https://x.org/t/3"})
    >>> [r["id"] for r in result.kept], dict(result.dropped)
    (['fresh99-0001'], {'sample': 1, 'cited': 1})
    """
    known, joined = set(samples), "\n".join(samples)
    cited = {normalise_address(address) for address in cited_sources}
    seen: set[str] = set()
    result = Admission()
    for record in records:
        line = str(record["line"]).strip()
        if line in known or (len(line) >= 60 and line in joined):
            reason = "sample"
        elif normalise_address(str(record["source"])) in cited:
            reason = "cited"
        elif JWT.search(line):
            reason = "token"
        elif line in seen:
            reason = "twice"
        else:
            seen.add(line)
            result.kept.append({**record, "id": f"{name}-{len(result.kept) + 1:04d}"})
            continue
        result.dropped[reason] += 1
    return result


def _sources_of_the_sets() -> set[str]:
    sys.path.insert(0, str(HERE))
    import evaluate

    return {str(r["source"]) for name in evaluate.SETS for r in evaluate.load_set(name)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    cited = steps.add_parser("cited", help="write the gatherers' skip list")
    cited.add_argument("out", type=Path)
    admitting = steps.add_parser("admit", help="write NAME/lines.jsonl from the gathered records")
    admitting.add_argument("name", help="the round's folder and id prefix, e.g. fresh35")
    admitting.add_argument("raw", nargs="+", type=Path, help="JSON lines the gatherers wrote")
    args = parser.parse_args(argv)
    if args.step == "cited":
        addresses = cited_addresses()
        args.out.write_text("".join(f"{a}\n" for a in sorted(addresses)), encoding="utf-8")
        print(f"{len(addresses)} addresses written to {args.out}")
        return 0
    records = [json.loads(line) for path in args.raw for line in path.read_text(encoding="utf-8").splitlines()
               if line.strip()]
    result = admit(records, args.name, catalogue_texts(), _sources_of_the_sets())
    out = HERE / args.name / "lines.jsonl"
    out.parent.mkdir(exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in result.kept), encoding="utf-8")
    failures = sum(r.get("expected") is not None for r in result.kept)
    print(f"{len(result.kept)} records kept in {out} ({failures} failures, {len(result.kept) - failures} accepted "
          f"lines, {len({r['source'] for r in result.kept})} threads); dropped: "
          + (", ".join(f"{n} {reason}" for reason, n in result.dropped.items()) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
