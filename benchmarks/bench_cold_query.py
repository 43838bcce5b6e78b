"""Where a cold `sensesearch query` spends its time, and what a warm query costs.

Each run is a fresh Python process that times, in order: importing the CLI, importing torch and
transformers, opening the index (which imports FAISS and SQLAlchemy), loading the model, the first
query and a second one (the warm cost, as `shell`, `query --file` and `serve` pay it). It also times
the whole `sensesearch --help` and `sensesearch info` commands. Prints one JSON line: median seconds
per stage over --runs runs.

    python benchmarks/bench_cold_query.py --runs 3 [--index DIR]   (default: a small index of corpora/demo)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAGES = r"""
import json, sys, time
marks = [("start", time.perf_counter())]
def mark(name): marks.append((name, time.perf_counter()))
import sensesearch.cli; mark("cli_import")
import torch; mark("torch_import")
import transformers; from transformers import AutoModel, AutoTokenizer; mark("transformers_import")
from sensesearch import SenseIndex
index = SenseIndex.open(sys.argv[1], read_only=True); mark("open_index")
index.encoder; mark("model_load")
index.query("She paid the money into the [[bank]].", k=5); mark("first_query")
index.query("We sat on the grassy [[bank]] of the river.", k=5); mark("warm_query")
print(json.dumps({name: t - marks[i][1] for i, (name, t) in enumerate(marks[1:])}))
"""


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=REPO)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--index", type=Path, default=None, help="an existing index [default: corpora/demo, built]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index = args.index
        if index is None:
            index = Path(tmp) / "demo"
            subprocess.run([sys.executable, "-m", "sensesearch", "index", str(REPO / "corpora" / "demo"),
                            "--index", str(index), "--quiet"], check=True, cwd=REPO)
        runs = []
        for _ in range(args.runs):
            done = subprocess.run([sys.executable, "-c", STAGES, str(index)], check=True, capture_output=True,
                                  text=True, cwd=REPO)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        cli = [sys.executable, "-m", "sensesearch"]
        whole = {"help": [_timed([*cli, "--help"]) for _ in range(args.runs)],
                 "info": [_timed([*cli, "info", "--index", str(index)]) for _ in range(args.runs)],
                 "query": [_timed([*cli, "query", "Money in the [[bank]].", "--index", str(index)])
                           for _ in range(args.runs)]}
    stages = {name: round(statistics.median(run[name] for run in runs), 3) for name in runs[0]}
    print(json.dumps({"runs": args.runs, "stages_s": stages, "cold_total_s": round(sum(stages.values())
                      - stages["warm_query"], 3),
                      "commands_s": {name: round(statistics.median(times), 3) for name, times in whole.items()}}))


if __name__ == "__main__":
    main()
