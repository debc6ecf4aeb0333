"""The catalogue's coverage as the README shows it: families, software, signatures, samples, causes."""

from __future__ import annotations

from ..models import Signature
from .order import Catalogue


def coverage_table(catalogue: Catalogue) -> str:
    """The catalogue's coverage as a Markdown table: family, software, signatures, samples, causes.

    The README carries this table; a test keeps it equal to the catalogue.

    Examples
    --------
    >>> from tokenaudit.catalogue.loading import load_catalogue
    >>> coverage_table(load_catalogue()).splitlines()[0]
    '| family | validator | signatures | samples | causes |'
    """
    rows: dict[str, list[Signature]] = {}
    for signature in catalogue.signatures:
        rows.setdefault(signature.family, []).append(signature)
    lines = ["| family | validator | signatures | samples | causes |", "|---|---|---|---|---|"]
    for family, members in sorted(rows.items()):
        causes = sorted({s.cause for s in members if s.cause})
        samples = sum(len(s.samples) for s in members)
        software = sorted({s.software for s in members})
        lines.append(f"| `{family}` | {', '.join(software)} | {len(members)} | {samples} | {', '.join(causes)} |")
    total_samples = sum(len(s.samples) for s in catalogue.signatures)
    lines.append(f"| **{len(rows)} families** | | **{len(catalogue.signatures)}** | **{total_samples}** | |")
    return "\n".join(lines)
