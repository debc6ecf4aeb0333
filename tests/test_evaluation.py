"""The evaluation set: kept apart from the catalogue, well-formed, and measured.

The figures are the README's table (``python evaluation/evaluate.py``). The
floors below guard against regressions; they sit a little under what the
catalogue reaches today, and are raised when it reaches more.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tokenaudit import load_causes

ROOT = Path(__file__).resolve().parent.parent
CAUSES = set(load_causes())


def _evaluation_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "evaluation" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


evaluate = _evaluation_module("evaluate")
held_out = _evaluation_module("held_out")


@pytest.fixture(scope="module")
def scores() -> dict[str, object]:
    return evaluate.run()


@pytest.mark.parametrize("name", list(evaluate.SETS))
def test_every_record_is_well_formed(name: str) -> None:
    records = evaluate.load_set(name)
    least = {"real": 300, "fresh": 135, "fresh2": 155, "fresh3": 150, "fresh4": 145, "fresh5": 155,
             "fresh6": 135, "fresh7": 145, "fresh8": 130, "fresh9": 135, "fresh10": 130, "fresh11": 145,
             "fresh12": 135, "fresh13": 135, "fresh14": 130, "fresh15": 75, "fresh16": 130, "fresh17": 125,
             "fresh18": 135, "fresh19": 130, "fresh20": 135, "fresh21": 110, "fresh22": 135, "fresh23": 140,
             "fresh24": 115, "fresh25": 130, "fresh26": 125, "fresh27": 130,
             "fresh28": 125, "fresh29": 125, "fresh30": 125, "fresh31": 125, "fresh32": 115,
             "fresh33": 130, "fresh34": 130, "fresh35": 130, "fresh36": 110, "fresh37": 115,
             "fresh38": 120, "fresh39": 120, "fresh40": 130}
    assert len(records) >= least.get(name, 200)
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    for record in records:
        assert record["line"].strip(), record["id"]
        assert record["expected"] is None or record["expected"] in CAUSES, record["id"]
        assert set(record.get("accept", [])) <= CAUSES, record["id"]
        assert record["source"].startswith(("http", "generated:", "constructed:")), record["id"]
        # no raw token (`eyJ***`, masked by its user, is none)
        assert not held_out.JWT.search(record["line"]), record["id"]
    if name == "negative":
        assert all(r["expected"] is None for r in records)


def test_real_lines_come_from_many_public_threads() -> None:
    records = evaluate.load_set("real")
    sources = {r["source"] for r in records}
    assert len(sources) >= 200
    assert all(r["source"].startswith("https://") for r in records)


def test_no_evaluation_line_was_copied_into_the_catalogue() -> None:
    """Measure on what the catalogue was not tuned to: no sample, no sample log line is an evaluation line."""
    lines = [str(r["line"]).strip() for name in evaluate.SETS for r in evaluate.load_set(name)]
    samples = held_out.catalogue_texts()
    assert len(samples) > 5000 and any("openid authentication failure" in s for s in samples)
    known = set(samples)
    copied = [line for line in lines if line in known]
    assert not copied, copied[:5]
    # nor a longer piece of one: a sample holding an evaluation line's text (a short library message may
    # well stand inside an evaluation line, behind its prefix; that is what is measured)
    joined = "\n".join(samples)
    inside = [line for line in lines if len(line) >= 60 and line in joined]
    assert not inside, inside[:5]


def test_held_out_rounds_share_no_thread_with_each_other_or_the_other_sets() -> None:
    sources = {name: {r["source"] for r in evaluate.load_set(name)} for name in evaluate.SETS}
    for name in evaluate.HELD_OUT:
        others = set().union(*(found for other, found in sources.items() if other != name))
        assert not sources[name] & others, sorted(sources[name] & others)[:5]


def test_the_expert_reading_judges_each_failure_line_of_its_sets_once() -> None:
    """``evaluation/ceiling/``: every failure line of a judged set has one judgement, of three kinds."""
    judged = [json.loads(line) for path in sorted((ROOT / "evaluation").glob(evaluate.READABLE))
              for line in path.read_text(encoding="utf-8").splitlines()]
    ids = [str(r["id"]) for r in judged]
    assert len(ids) == len(set(ids)) >= 300
    assert {r["judgement"] for r in judged} == {"text", "guess", "none"}
    sets = {i.rsplit("-", 1)[0] for i in ids}
    failures = {str(r["id"]) for name in sets for r in evaluate.load_set(name) if r["expected"] is not None}
    assert set(ids) == failures


def test_the_table_counts_each_line_once(scores: dict[str, object]) -> None:
    head = evaluate.summary(scores)
    assert head["real"]["lines"] == len(evaluate.load_set("real"))
    assert head["validators"]["lines"] == len(evaluate.load_set("validators"))
    rows = evaluate.per_cause([o for s in scores.values() for o in s.outcomes])
    assert sum(row["lines"] for row in rows) == sum(1 for s in scores.values() for o in s.outcomes
                                                     if o.expected is not None)


def test_the_markdown_table_is_the_readmes(scores: dict[str, object]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert evaluate.markdown(scores) in readme, "run `python evaluation/evaluate.py` and paste its table"


def test_recall_and_precision_stay_above_their_floors(scores: dict[str, object]) -> None:
    head = evaluate.summary(scores)
    assert head["real"]["right"] >= FLOORS["real_right"]
    assert head["validators"]["exact"] >= FLOORS["validators_exact"]
    assert head["validators"]["named"] >= FLOORS["validators_named"]
    assert set(FLOORS) >= {f"{name}_right" for name in evaluate.HELD_OUT}
    for name in evaluate.HELD_OUT:
        assert head[name]["right"] >= FLOORS[f"{name}_right"], name


def test_nothing_user_written_or_accepted_gets_a_ready_trust_widening_fix(scores: dict[str, object]) -> None:
    head = evaluate.summary(scores)
    assert head["negative"]["ready_widening_fixes"] == 0
    assert head["negative"]["token_events"] <= FLOORS["negative_token_events"]
    for name in evaluate.HELD_OUT:
        assert head[name]["negatives_with_token_event"] <= ACCEPTED_WITH_TOKEN_EVENT.get(name, 0), name


def test_the_evaluation_runs_as_a_script(scores: dict[str, object], capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evaluate, "run", lambda: scores)  # the figures of this run, not a second run
    assert evaluate.main(["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"summary", "per_cause"} <= set(data)
    assert evaluate.main(["--misses"]) == 0
    listed = capsys.readouterr().out
    assert "| set | lines |" in listed and "[real] real-" in listed


def test_a_failure_line_with_no_cause_is_still_said_to_be_a_failure(scores: dict[str, object]) -> None:
    """Where no entry names the cause, most failure lines still read as failures (and say what would decide)."""
    unnamed = evaluate.summary(scores)["unnamed"]
    assert unnamed["failures"] > 300 and unnamed["accepted"] > 900
    assert unnamed["failures_flagged"] >= 0.75 * unnamed["failures"]  # 541 of 678 today
    assert unnamed["accepted_flagged"] <= 0.10 * unnamed["accepted"]  # 100 of 1,222 today


#: A little under today's figures (the README's table): raised when the catalogue reaches more.
FLOORS = {"real_right": 0.84, "validators_exact": 0.91, "validators_named": 0.97, "fresh_right": 0.76,
          "fresh2_right": 0.64, "fresh3_right": 0.66, "fresh4_right": 0.75, "fresh5_right": 0.73,
          "fresh6_right": 0.75, "fresh7_right": 0.70, "fresh8_right": 0.81, "fresh9_right": 0.94,
          "fresh10_right": 0.88, "fresh11_right": 0.81, "fresh12_right": 0.87, "fresh13_right": 0.80,
          "fresh14_right": 0.84, "fresh15_right": 0.76, "fresh16_right": 0.75, "fresh17_right": 0.81,
          "fresh18_right": 0.67, "fresh19_right": 0.60, "fresh20_right": 0.67, "fresh21_right": 0.70,
          "fresh22_right": 0.67, "fresh23_right": 0.75, "fresh24_right": 0.70,
          "fresh25_right": 0.83, "fresh26_right": 0.75, "fresh27_right": 0.78, "fresh28_right": 0.74,
          "fresh29_right": 0.56, "fresh30_right": 0.65, "fresh31_right": 0.74, "fresh32_right": 0.75,
          "fresh33_right": 0.67, "fresh34_right": 0.45, "fresh35_right": 0.57, "fresh36_right": 0.84,
          "fresh37_right": 0.75, "fresh38_right": 0.87, "fresh39_right": 0.52, "fresh40_right": 0.47,
          "negative_token_events": 0}

#: Accepted lines of a held-out set that may give a token event, and why; every other set's give none.
ACCEPTED_WITH_TOKEN_EVENT = {
    # oauth2-proxy's "cookie \"_oauth2_proxy\" not present" on a first visit, which these sets' labellers call no
    # failure while accepting missing_token, the answer (fresh3 holds the same words as a real failure)
    "fresh5": 1, "fresh10": 1, "fresh14": 1,
    # jenkins oic-auth's WARNING "Preferred JWS algorithm: null not available. Using all metadata algorithms", which
    # the word model reads as algorithm_mismatch; its labeller calls it a warning at start-up, no refusal
    "fresh3": 1,
    # Grafana's WARN "Failed to authenticate request ... error=\"user token not found\"" on a request before the
    # OAuth login, which its labeller calls no failure while accepting missing_token, the answer
    "fresh21": 1,
}
