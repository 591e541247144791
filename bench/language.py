"""Benchmark: a follower's language from the text (routing/language.py).

    .venv/bin/python bench/language.py [--rounds 20]

For each lingua mode (low accuracy, the one the portal uses, and the full one), in a
fresh process so that neither reuses the other's loaded models: the time to build the
detector, then µs per `language_of` call over the labelled set
(tests/routing/language_samples.tsv, no profile language, so every call detects from the
text), each message `--rounds` times, p50 and p95, and the accuracy over the set.
No Django, no database.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "routing" / "language_samples.tsv"


def _child(low_accuracy: bool, rounds: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from routing import language

    with SAMPLES.open(encoding="utf-8", newline="") as f:
        samples = [(r["text"], r["expected"])
                   for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    started = time.perf_counter()
    detector = language.build_detector(low_accuracy=low_accuracy)
    build = time.perf_counter() - started
    language._detector = lambda: detector
    right = sum(language.language_of(text=t, profile_language=None).language == e
                for t, e in samples)
    timings = []
    for _ in range(rounds):
        for text, _expected in samples:
            t0 = time.perf_counter_ns()
            language.language_of(text=text, profile_language=None)
            timings.append((time.perf_counter_ns() - t0) / 1000)
    timings.sort()
    return {
        "build_s": build,
        "p50_us": statistics.median(timings),
        "p95_us": timings[int(len(timings) * 0.95)],
        "calls": len(timings),
        "right": right,
        "samples": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--child", choices=("low", "full"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child == "low", args.rounds)))
        return
    print(f"{'mode':<14}{'build':>10}{'p50':>10}{'p95':>10}{'calls':>8}{'accuracy':>12}")
    for mode in ("low", "full"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--rounds", str(args.rounds)],
            check=True, capture_output=True, text=True,
        ).stdout
        r = json.loads(out)
        name = "low accuracy" if mode == "low" else "full"
        print(f"{name:<14}{r['build_s'] * 1000:>8.0f}ms{r['p50_us']:>8.1f}µs"
              f"{r['p95_us']:>8.1f}µs{r['calls']:>8}"
              f"{r['right']:>5}/{r['samples']} {r['right'] / r['samples']:>5.1%}")


if __name__ == "__main__":
    main()
