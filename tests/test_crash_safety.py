"""Crash safety: an ingest killed with SIGKILL at any moment loses nothing and duplicates nothing.

A real ``python -m tokenaudit ingest`` is killed many times, at random moments
and at chosen ones (while a temporary file is being written, once the events
are written but nothing else, during the commit of the manifest). After each
kill every reader and ``analyze``/``report``/``events`` must work and show only
whole batches; then normal ingests must end with exactly the events of one clean
ingest of the same logs. The logs grow between runs, cut mid-line, as a
writer leaves them.

The randomness is seeded: a failure names the seed; rerun it with
``TOKENAUDIT_CRASH_SEED=<seed>``.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import tokenaudit as ta

from .crashkit import (
    Corpus,
    assert_reads_cleanly,
    assert_same_events,
    complete_lines,
    expected_events,
    ingest_here,
    keyed,
    kill_when,
    leftovers,
    make_corpus,
    run_ingest,
    start_ingest,
)

SEED = int(os.environ.get("TOKENAUDIT_CRASH_SEED") or random.SystemRandom().randrange(2**31))
KILLS = 10


@dataclass(frozen=True)
class Setup:
    corpus: Corpus
    reference: pd.DataFrame
    wall: float
    base: Path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    base = tmp_path_factory.mktemp("crash")
    corpus = make_corpus(base / "generated", nginx_lines=30_000, journal_lines=8_000)
    paths = corpus.write(base / "full")
    wall = run_ingest(paths, base / "reference" / "dataset")
    reference = keyed(ta.read_events(base / "reference" / "dataset"))
    assert len(reference) > 1000
    return Setup(corpus, reference, wall, base)


def _triggers(rng: random.Random, wall: float) -> list[tuple[str, dict[str, object]]]:
    """Where to kill: very early, on chosen files appearing, and at random moments."""
    def appears(part: str) -> Callable[[str], bool]:
        return lambda name: part in name

    chosen: list[tuple[str, dict[str, object]]] = [
        ("first temporary file", {"new_file": lambda name: name.endswith(".tmp")}),
        ("events written", {"new_file": appears("/events/event_date=")}),
        ("requests written", {"new_file": appears("/requests/batch-")}),
        ("commit under way", {"new_file": appears("/manifest/.batch-")}),
    ]
    early = [(f"early {d:.2f}s", {"delay": d}) for d in (rng.uniform(0, 0.4) for _ in range(2))]
    spread = [(f"at {d:.2f}s", {"delay": d}) for d in (rng.uniform(0, 1.1 * wall) for _ in range(KILLS - 7))]
    rest = chosen + early + spread
    rng.shuffle(rest)
    return [("before anything", {"delay": 0.02}), *rest]


def test_ingest_killed_at_random_moments_loses_and_duplicates_nothing(setup: Setup) -> None:
    rng = random.Random(SEED)
    live, root = setup.base / f"live-{SEED}", setup.base / f"run-{SEED}" / "dataset"
    seen_leftovers = 0
    outcomes = []
    for number, (name, trigger) in enumerate(_triggers(rng, setup.wall)):
        context = f"TOKENAUDIT_CRASH_SEED={SEED}, kill {number} ({name})"
        paths = setup.corpus.write(live, 0.55 + 0.4 * number / KILLS)  # the logs grew, maybe mid-line
        t0 = time.perf_counter()
        outcome = kill_when(start_ingest(paths, root), root, **trigger)  # type: ignore[arg-type]
        t1 = time.perf_counter()
        left = leftovers(root)
        outcomes.append(f"{name}: {outcome} after {t1 - t0:.2f}s, {len(left)} files left over")
        print(f"seed {SEED}, kill {number}: {outcomes[-1]}")  # shown when the test fails
        seen_leftovers += bool(left)
        assert_reads_cleanly(root, setup.reference, context)
        if number in (KILLS // 2, KILLS - 1):
            ingest_here(paths, root)
            assert leftovers(root) == [], f"{context}: the next ingest left what the killed one left"
            assert_same_events(root, expected_events(setup.reference, complete_lines(live)), context)
    # The logs complete their last lines; one more ingest reads exactly what was missing.
    paths = setup.corpus.write(live, 1.0)
    ingest_here(paths, root)
    assert_same_events(root, setup.reference, f"TOKENAUDIT_CRASH_SEED={SEED}, final")
    clean = setup.base / "reference" / "dataset"
    assert ta.read_requests(root)["count"].sum() == ta.read_requests(clean)["count"].sum(), f"seed {SEED}"
    assert ta.read_tokens(root)["sightings"].sum() == ta.read_tokens(clean)["sightings"].sum(), f"seed {SEED}"
    assert ta.read_realms(root)["realm"].tolist() == ta.read_realms(clean)["realm"].tolist(), f"seed {SEED}"
    assert seen_leftovers >= 1, f"seed {SEED}: no kill hit the writing of a batch: {outcomes}"
