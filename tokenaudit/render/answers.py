"""The answers of :func:`tokenaudit.why` as text for a person."""

from __future__ import annotations

import textwrap

from ..analysis.answers import Answer
from ..causes.definitions import load_causes
from ..causes.recommend import known
from ..common.masking import shorten
from .tables import reflow_fix

#: How a cause not from a software's exact text was found, by tier.
_SHARED_WORDS = {"phrase": "words several libraries use for this cause",
                 "keyword": "words naming this cause in a line that reports a failure",
                 "words": "a guess from words the catalogue's samples of this cause use; no entry matched"}

#: What to say of a message that reports a failure in words naming no cause tokenaudit knows.
_UNNAMED_FAILURE = ("failure, cause not named: the words report a failure but name no cause tokenaudit knows. "
                    "What decides: the rest of the error (the response body, its error_description, a `Caused by:` "
                    "line: paste them with it), the validator's own log at that time (`tokenaudit ingest` it, then "
                    "`tokenaudit analyze`), or the token itself (`tokenaudit explain TOKEN`).")


def render_answers(answers: list[Answer], *, width: int = 100) -> str:
    """The answers as text for a person: cause, what the text says, alternatives, values, why and fix.

    The explanation is wrapped to ``width``; a value no message gave (no
    confidence, an empty field) is left out, never printed as ``None``.

    Examples
    --------
    >>> print(render_answers([Answer("all good", "generic_text", None)]))
    1. all good
       no failure recognised: no entry of tokenaudit's catalogue matches this text, nor do its samples' words
    >>> print(render_answers([Answer("ERROR push: 403", "generic_text", None, reports_failure=True)], width=60))
    1. ERROR push: 403
       failure, cause not named: the words report a failure but
       name no cause tokenaudit knows. What decides: the rest of
       the error (the response body, its error_description, a
       `Caused by:` line: paste them with it), the validator's
       own log at that time (`tokenaudit ingest` it, then
       `tokenaudit analyze`), or the token itself (`tokenaudit
       explain TOKEN`).
    >>> print(render_answers([Answer("x", "generic_text", "expired", title="Token expired", values={"kid": ""},
    ...                              reading="The token's exp has passed", explanation="The token had expired.",
    ...                              fix="Refresh it.")]))
    1. x
       cause       expired: Token expired (words several libraries use for this cause)
       reads as    The token's exp has passed
       why         The token had expired.
       fix
          Refresh it.
    """
    lines: list[str] = []
    causes = load_causes()
    for number, answer in enumerate(answers, start=1):
        shown = answer.message if len(answer.message) <= width else answer.message[: width - 1] + "…"
        lines.append(f"{number}. {shown}")
        if answer.cause is None and answer.reports_failure:
            lines.extend(textwrap.wrap(_UNNAMED_FAILURE, width=max(width, 40), initial_indent="   ",
                                       subsequent_indent="   ", break_long_words=False, break_on_hyphens=False))
            continue
        if answer.cause is None:
            lines.append("   no failure recognised: no entry of tokenaudit's catalogue matches this text, nor do its "
                         "samples' words")
            continue
        how = ("the exact text of " + (answer.software or "known software") if answer.tier == "signature"
               else _SHARED_WORDS.get(answer.tier, _SHARED_WORDS["phrase"]))
        sure = f"confidence {answer.confidence}; " if known(answer.confidence) else ""
        lines.append(f"   cause       {answer.cause}: {answer.title} ({sure}{how})")
        if answer.reading:
            lines.append(textwrap.fill(answer.reading, width=max(width, 40), initial_indent="   reads as    ",
                                       subsequent_indent=" " * 15, break_long_words=False, break_on_hyphens=False))
        if answer.alternatives:
            others = ", ".join(f"{a} ({causes[a].title.lower()})" for a in answer.alternatives if a in causes)
            lines.append(f"   or else     {others}: the text alone cannot tell; a captured token "
                         "(`tokenaudit explain`) or the relying party's configuration decides")
        if answer.evidence:
            lines.append("   words       " + ", ".join(f"'{word}'" for word in answer.evidence)
                         + ": the words that decided; confirm the cause from the software's own documentation")
        values = {k: shorten(v) for k, v in answer.values.items() if known(v)}
        if values:
            lines.append("   values      " + ", ".join(f"{k}={v}" for k, v in values.items()))
        lines.append(textwrap.fill(answer.explanation, width=max(width, 40), initial_indent="   why         ",
                                   subsequent_indent=" " * 15, break_long_words=False, break_on_hyphens=False))
        lines.append("   fix")
        lines.extend(reflow_fix(answer.fix, max(width, 40) + 6, indent=6))
    return "\n".join(lines)
