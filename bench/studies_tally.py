"""Time the study tally (statistics only, no database) for growing studies, and print JSON.

The bootstrap of the two choice models is the cost; the results page caches the tally until a vote
or a completion changes it. Usage: python bench/studies_tally.py [--bootstrap 500] [--methods 6]
"""
import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studies.statistics import Choice, tally  # noqa: E402


def synthetic_choices(participants: int, trials: int, methods: int, seed: int) -> list[Choice]:
    rng = random.Random(seed)
    weights = [2 ** -index for index in range(methods)]
    choices = []
    for person in range(participants):
        for _ in range(trials):
            winner = rng.choices(range(methods), weights)[0]
            choices.append(Choice(f"P{person}", winner, tuple(m for m in range(methods) if m != winner),
                                  rng.randrange(methods)))
    return choices


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", type=int, default=500)
    parser.add_argument("--methods", type=int, default=6)
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    labels = [f"M{index}" for index in range(args.methods)]
    rows = []
    for participants in (10, 50, 200):
        choices = synthetic_choices(participants, args.trials, args.methods, seed=participants)
        started = time.perf_counter()
        result = tally(labels, choices, bootstrap=args.bootstrap)
        rows.append({"participants": participants, "votes": result["votes"], "bootstrap": args.bootstrap,
                     "seconds": round(time.perf_counter() - started, 3)})
    print(json.dumps({"methods": args.methods, "trials_per_participant": args.trials, "runs": rows}, indent=1))


if __name__ == "__main__":
    main()
