"""Measure tokenaudit's diagnosis on lines it was not tuned to: recall and precision per cause.

The evaluation set lives here, apart from the catalogue's samples
(the ``data`` folders of ``tokenaudit/``), and no line of it may be copied there
(``tests/test_evaluation.py`` checks that no evaluation line holds a sample's
text, nor the other way round):

- ``real/*.jsonl``: failure lines as users pasted them in public issue
  trackers and forums, prefixes included, each with its source link;
- ``validators/lines.jsonl``: what real validators (PyJWT, python-jose,
  Authlib, joserfc, jsonwebtoken, jose) print for tokens with known defects,
  written through ordinary application loggers (``validators/README.md``);
- ``negative/lines.jsonl``: lines that must give no token failure: accepted
  tokens, ordinary traffic, and user-written imitations (injection probes);
- ``fresh/lines.jsonl`` … ``fresh40/lines.jsonl``: the held-out rounds. Each
  was gathered by someone who never saw the catalogue, from threads that no
  other set and no file of the project cites, and measured before anyone read
  it; all but the last two have since been read (no longer out of sample).
  :data:`HELD_OUT` says where each stands, ``README.md`` here how each was
  gathered and what reading it gave.

Every line goes through :func:`tokenaudit.analysis.answers`, the classifier ``analyze``
uses. Run ``python evaluation/evaluate.py`` for the tables (``--json`` for
machines, ``--misses`` to list what was missed).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import tokenaudit
from tokenaudit.causes.recommend import WIDENS_TRUST

HERE = Path(__file__).resolve().parent
SETS = {"real": "real/*.jsonl", "validators": "validators/lines.jsonl", "negative": "negative/lines.jsonl",
        "fresh": "fresh/lines.jsonl", "fresh2": "fresh2/lines.jsonl", "fresh3": "fresh3/lines.jsonl",
        "fresh4": "fresh4/lines.jsonl", "fresh5": "fresh5/lines.jsonl", "fresh6": "fresh6/lines.jsonl",
        "fresh7": "fresh7/lines.jsonl", "fresh8": "fresh8/lines.jsonl",
        "fresh9": "fresh9/lines.jsonl", "fresh10": "fresh10/lines.jsonl",
        "fresh11": "fresh11/lines.jsonl", "fresh12": "fresh12/lines.jsonl",
        "fresh13": "fresh13/lines.jsonl", "fresh14": "fresh14/lines.jsonl",
        "fresh15": "fresh15/lines.jsonl", "fresh16": "fresh16/lines.jsonl",
        "fresh17": "fresh17/lines.jsonl", "fresh18": "fresh18/lines.jsonl",
        "fresh19": "fresh19/lines.jsonl", "fresh20": "fresh20/lines.jsonl",
        "fresh21": "fresh21/lines.jsonl", "fresh22": "fresh22/lines.jsonl",
        "fresh23": "fresh23/lines.jsonl", "fresh24": "fresh24/lines.jsonl",
        "fresh25": "fresh25/lines.jsonl", "fresh26": "fresh26/lines.jsonl",
        "fresh27": "fresh27/lines.jsonl", "fresh28": "fresh28/lines.jsonl",
        "fresh29": "fresh29/lines.jsonl", "fresh30": "fresh30/lines.jsonl",
        "fresh31": "fresh31/lines.jsonl", "fresh32": "fresh32/lines.jsonl",
        "fresh33": "fresh33/lines.jsonl", "fresh34": "fresh34/lines.jsonl",
        "fresh35": "fresh35/lines.jsonl", "fresh36": "fresh36/lines.jsonl",
        "fresh37": "fresh37/lines.jsonl", "fresh38": "fresh38/lines.jsonl", "fresh39": "fresh39/lines.jsonl",
        "fresh40": "fresh40/lines.jsonl"}
#: The held-out sets, each with the words of its row in the table.
HELD_OUT = {"fresh": "first held-out round: gathered before the keyword tier, then read",
            "fresh2": "second round: gathered before the keyword tier, measured after it, then read",
            "fresh3": "third round: gathered after the keyword tier, measured, then read",
            "fresh4": "fourth round: gathered after the third was read, measured, then read",
            "fresh5": "fifth round: gathered after the fourth was read, measured, then read",
            "fresh6": "sixth round: gathered after the fifth was read, measured, then read",
            "fresh7": "seventh round: gathered after the sixth round's words were written, measured, then read",
            "fresh8": "eighth round: gathered before the seventh was read, measured, then read",
            "fresh9": "ninth round: gathered while the eighth round was written, measured, then read",
            "fresh10": "tenth round: gathered before the ninth was read, measured, then read",
            "fresh11": "eleventh round: gathered before the tenth was read, measured, then read",
            "fresh12": "twelfth round: gathered before the eleventh was read, measured, then read",
            "fresh13": "thirteenth round: gathered before the twelfth was read, measured, then read",
            "fresh14": "fourteenth round: gathered before the thirteenth was read, measured, then read",
            "fresh15": "fifteenth round: gathered before the fourteenth was read, measured, then read",
            "fresh16": "sixteenth round: gathered before the fifteenth was read, measured, then read",
            "fresh17": "seventeenth round: gathered while the word model was built, measured twice, then read",
            "fresh18": "eighteenth round: gathered before fresh16 was read, measured twice, then read",
            "fresh19": "nineteenth round: gathered before fresh17 and fresh18 were read, measured twice, then read",
            "fresh20": "twentieth round: gathered before fresh19 was read, measured twice, then read",
            "fresh21": "twenty-first round: gathered before fresh20 was read, measured twice, then read",
            "fresh22": "twenty-second round: gathered before fresh21 was read, measured three times, then read",
            "fresh23": "twenty-third round: gathered while fresh22 was read, measured twice, then read",
            "fresh24": "twenty-fourth round: gathered before fresh23 was read, measured twice, then read",
            "fresh25": "twenty-fifth round: gathered while fresh24 was read, measured three times, then read",
            "fresh26": "twenty-sixth round: gathered before fresh25 was read, measured three times, then read",
            "fresh27": "twenty-seventh round: gathered while fresh25 was read, measured three times, then read",
            "fresh28": "twenty-eighth round: gathered before fresh26 was read, measured four times, then read",
            "fresh29": "twenty-ninth round: gathered before fresh27 was read, measured three times, then read",
            "fresh30": "thirtieth round: gathered before fresh28 was read, measured three times, then read",
            "fresh31": ("thirty-first round: gathered after fresh28 and fresh29 were read, measured three times, "
                        "then read"),
            "fresh32": "thirty-second round: gathered before fresh30 was read, measured four times, then read",
            "fresh33": "thirty-third round: gathered before fresh31 was read, measured four times, then read",
            "fresh34": "thirty-fourth round: gathered before fresh32 was read, measured three times, then read",
            "fresh35": "thirty-fifth round: gathered while fresh32 was read, measured four times, then read",
            "fresh36": "thirty-sixth round: gathered while fresh34 was read, measured three times, then read",
            "fresh37": "thirty-seventh round: gathered while fresh35 was read, measured three times, then read",
            "fresh38": "thirty-eighth round: gathered while fresh36 was read, measured three times, then read",
            "fresh39": "held out, thirty-ninth round: gathered while fresh37 was read, never read",
            "fresh40": "held out, fortieth round: gathered while fresh38 was read, never read"}
TOKEN_CAUSES = frozenset(c.id for c in tokenaudit.load_causes().values() if c.group == "token")
#: An expert's reading of held-out sets, line by line: does the line's text alone name its cause
#: (``text``), narrow it to a few (``guess``), or say nothing of it (``none``)? (``ceiling/README.md``)
READABLE = "ceiling/*.jsonl"


@dataclass(frozen=True)
class Outcome:
    """One evaluation line and what tokenaudit made of it."""

    record: dict[str, object]
    cause: str | None
    alternatives: tuple[str, ...]
    confidence: str
    ready_widening_fix: bool
    #: how the cause was found (``signature``, ``phrase``, ``keyword`` or ``words``), empty for none
    tier: str = ""
    #: no cause, but the line's own words report a failure (``Answer.reports_failure``): tokenaudit says so
    flagged: bool = False

    @property
    def expected(self) -> str | None:
        return self.record.get("expected")  # type: ignore[return-value]

    @property
    def exact(self) -> bool:
        return self.cause is not None and self.cause == self.expected

    @property
    def right(self) -> bool:
        """The cause, or one the line's labeller accepts as a fair answer from the text alone."""
        accept = self.record.get("accept") or []
        return self.exact or (self.cause is not None and self.cause in accept)  # type: ignore[operator]

    @property
    def named(self) -> bool:
        """The expected cause is the answer or among the alternatives tokenaudit names."""
        return self.expected is not None and (self.exact or self.expected in self.alternatives)

    @property
    def indistinguishable(self) -> bool:
        """A probe byte for byte like a real line: a syslog tag written with `logger`, a forged new line."""
        note = str(self.record.get("note", ""))
        return "logger -t" in note and "journal" not in str(self.record.get("format", "")) or (
            "\n" in str(self.record.get("line", "")) and "newline" in note.lower())


@dataclass
class Scores:
    """Counts of one evaluation set."""

    name: str
    outcomes: list[Outcome] = field(default_factory=list)

    def share(self, test: str) -> float:
        failures = [o for o in self.outcomes if o.expected is not None]
        return sum(bool(getattr(o, test)) for o in failures) / len(failures) if failures else 0.0


def load_set(name: str) -> list[dict[str, object]]:
    """The records of one evaluation set (a key of :data:`SETS`)."""
    records: list[dict[str, object]] = []
    for path in sorted(HERE.glob(SETS[name])):
        records.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return records


def evaluate(records: Iterable[dict[str, object]]) -> list[Outcome]:
    """Run every record's line through :func:`tokenaudit.analysis.answers`; the first answer with a cause counts."""
    outcomes = []
    for record in records:
        answers = tokenaudit.why(str(record["line"]))
        found = next((a for a in answers if a.cause is not None), None)
        ready = any(a.cause in WIDENS_TRUST and a.ready_fix for a in answers)
        if found is None:
            outcomes.append(Outcome(record, None, (), "", ready, flagged=any(a.reports_failure for a in answers)))
        else:
            outcomes.append(Outcome(record, found.cause, found.alternatives, found.confidence, ready, found.tier))
    return outcomes


def per_cause(outcomes: list[Outcome]) -> list[dict[str, object]]:
    """Recall (right and named) and precision per expected cause, over all sets given."""
    expected = Counter(o.expected for o in outcomes if o.expected is not None)
    predicted = Counter(o.cause for o in outcomes if o.cause is not None)
    right = Counter(o.expected for o in outcomes if o.expected is not None and o.right)
    correct_predictions = Counter(o.cause for o in outcomes if o.cause is not None and o.right)
    named = Counter(o.expected for o in outcomes if o.named)
    rows = []
    for cause in sorted(set(expected) | set(predicted)):
        rows.append({
            "cause": cause,
            "lines": expected[cause],
            "recall": right[cause] / expected[cause] if expected[cause] else None,
            "recall_named": named[cause] / expected[cause] if expected[cause] else None,
            "answered": predicted[cause],
            "precision": correct_predictions[cause] / predicted[cause] if predicted[cause] else None,
        })
    return rows


def summary(scores: dict[str, Scores]) -> dict[str, object]:
    """The headline figures of the issue's acceptance: shares per set, and what negatives gave."""
    negative = scores["negative"].outcomes
    token_events = [o for o in negative if o.cause in TOKEN_CAUSES]
    held_out = {name: {"lines": len(scores[name].outcomes), "right": scores[name].share("right"),
                       "exact": scores[name].share("exact"), "named": scores[name].share("named"),
                       "negatives": len([o for o in scores[name].outcomes if o.expected is None]),
                       "negatives_with_token_event": len([o for o in scores[name].outcomes
                                                          if o.expected is None and o.cause in TOKEN_CAUSES])}
                for name in HELD_OUT}
    held = [o for name in HELD_OUT for o in scores[name].outcomes if o.cause is None]
    return {
        "unnamed": {"failures": len([o for o in held if o.expected is not None]),
                    "failures_flagged": len([o for o in held if o.expected is not None and o.flagged]),
                    "accepted": len([o for o in held if o.expected is None]),
                    "accepted_flagged": len([o for o in held if o.expected is None and o.flagged])},
        "real": {"lines": len(scores["real"].outcomes), "right": scores["real"].share("right"),
                 "exact": scores["real"].share("exact"), "named": scores["real"].share("named")},
        **held_out,
        "validators": {"lines": len(scores["validators"].outcomes), "exact": scores["validators"].share("exact"),
                       "named": scores["validators"].share("named"), "right": scores["validators"].share("right")},
        "negative": {
            "lines": len(negative),
            "token_events": len([o for o in token_events if not o.indistinguishable]),
            "token_events_indistinguishable": len([o for o in token_events if o.indistinguishable]),
            "any_event": len([o for o in negative if o.cause is not None]),
            "ready_widening_fixes": len([o for o in negative if o.ready_widening_fix and not o.indistinguishable]),
        },
    }


def readable(scores: dict[str, Scores]) -> dict[str, dict[str, int]]:
    """Per set an expert read: failure lines whose text alone names the cause, and how many tokenaudit gets right.

    The ceiling of any reader of the text: a line that says only ``Login unsuccessful`` or ``GET /callback 500``
    cannot be answered, whatever the catalogue holds.
    """
    judged = {str(r["id"]): str(r["judgement"]) for path in sorted(HERE.glob(READABLE))
              for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
    found: dict[str, dict[str, int]] = {}
    for name, score in scores.items():
        failures = [o for o in score.outcomes if o.expected is not None and str(o.record["id"]) in judged]
        if failures:
            said = [o for o in failures if judged[str(o.record["id"])] == "text"]
            found[name] = {"failures": len(failures), "text_names_cause": len(said),
                           "right_of_those": sum(o.right for o in said)}
    return found


def _pct(value: object) -> str:
    return "" if value is None else f"{100 * float(value):.0f} %"  # type: ignore[arg-type]


def markdown(scores: dict[str, Scores]) -> str:
    """The README's tables: the headline per set, then recall and precision per cause."""
    head = summary(scores)
    real, validators, negative, unnamed = head["real"], head["validators"], head["negative"], head["unnamed"]
    held_out = [(words, head[name]) for name, words in HELD_OUT.items()]
    lines = [
        "| set | lines | right cause | exact cause | expected cause named (answer or alternative) |",
        "|---|---|---|---|---|",
        f"| real failure lines from public threads | {real['lines']} | {_pct(real['right'])} | {_pct(real['exact'])} "  # type: ignore[index]
        f"| {_pct(real['named'])} |",  # type: ignore[index]
        f"| real validators' messages behind application loggers | {validators['lines']} | "  # type: ignore[index]
        f"{_pct(validators['right'])} | {_pct(validators['exact'])} | {_pct(validators['named'])} |",  # type: ignore[index]
        *(f"| {words} | {held['lines']} | {_pct(held['right'])} | {_pct(held['exact'])} | "  # type: ignore[index]
          f"{_pct(held['named'])} |" for words, held in held_out),  # type: ignore[index]
        "",
        f"Negative lines (accepted tokens, ordinary traffic, injection probes): {negative['lines']}; "  # type: ignore[index]
        f"token failure events from them: {negative['token_events']}; ready trust-widening fixes: "  # type: ignore[index]
        f"{negative['ready_widening_fixes']}; probes that are byte for byte a real line (a syslog tag written "  # type: ignore[index]
        f"with `logger`, a forged new line) and so give an event: {negative['token_events_indistinguishable']}. "  # type: ignore[index]
        "Accepted lines of the held-out sets: "
        + "; ".join(f"{held['negatives']} in {name}, token failure events from them: "  # type: ignore[index]
                    f"{held['negatives_with_token_event']}" for name, held in zip(HELD_OUT, (h for _, h in held_out),
                                                                                 strict=True))
        + ".",
        "",
        f"Failure lines of the held-out sets that get no cause: {unnamed['failures']}; of them tokenaudit still "  # type: ignore[index]
        f"says that the line reports a failure, and what would decide its cause: {unnamed['failures_flagged']}. "  # type: ignore[index]
        f"Accepted lines of those sets that get no cause: {unnamed['accepted']}; said to report a failure: "  # type: ignore[index]
        f"{unnamed['accepted_flagged']}.",  # type: ignore[index]
        "",
        "Failure lines whose text alone names their cause, as an expert read them (`evaluation/ceiling/`): "
        + "; ".join(f"{n['text_names_cause']} of {n['failures']} in {name} "
                    f"({_pct(n['text_names_cause'] / n['failures'])}), tokenaudit right on {n['right_of_those']} "
                    f"of them ({_pct(n['right_of_those'] / n['text_names_cause'])})"
                    for name, n in readable(scores).items())
        + ".",
        "",
        "| cause | lines | recall | recall, alternatives named | answers | precision |",
        "|---|---|---|---|---|---|",
    ]
    everything = [o for s in scores.values() for o in s.outcomes]
    for row in per_cause(everything):
        lines.append(f"| {row['cause']} | {row['lines']} | {_pct(row['recall'])} | {_pct(row['recall_named'])} | "
                     f"{row['answered']} | {_pct(row['precision'])} |")
    return "\n".join(lines)


def run() -> dict[str, Scores]:
    """Evaluate every set."""
    return {name: Scores(name, evaluate(load_set(name))) for name in SETS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--misses", action="store_true", help="also list every line not given its cause")
    args = parser.parse_args(argv)
    scores = run()
    if args.json:
        everything = [o for s in scores.values() for o in s.outcomes]
        print(json.dumps({"summary": summary(scores), "per_cause": per_cause(everything),
                          "readable": readable(scores)}, indent=2))
    else:
        print(markdown(scores))
    if args.misses:
        for name, score in scores.items():
            for o in score.outcomes:
                wrong = (o.expected is not None and not o.right) or (o.expected is None and o.cause is not None)
                if wrong:
                    print(f"\n[{name}] {o.record['id']} expected {o.expected}, got {o.cause} "
                          f"(alternatives {', '.join(o.alternatives) or 'none'})\n  {str(o.record['line'])[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
