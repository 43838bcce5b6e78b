"""Smoke runs of the benchmark scripts at tiny sizes: each must print one JSON line with its figures (not timed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(__file__).resolve().parents[2] / "shared"


def run_benchmark(script: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args], capture_output=True,
                          text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])


@pytest.mark.slow
def test_bench_ingest_smoke() -> None:
    result = run_benchmark("bench_ingest.py", "--docs", "2", "--chars", "800", "--rounds", "2")
    assert set(result["pieces_per_s"]) == {"baseline", "bare", "full", "int8"}
    assert result["word_pieces"] > 0 and result["occurrences"] > 0
    for key in ("ratio_full_vs_bare", "ratio_full_vs_baseline", "ratio_int8_vs_baseline", "peak_rss_mb_after"):
        assert key in result
    by_round = result["ratio_full_vs_bare_by_round"]
    assert len(by_round) == result["rounds"] == 2 and all(r > 0 for r in by_round)
    assert result["ratio_full_vs_bare_median_round"] == round(sum(by_round) / 2, 3)
    # The model's forward calls inside the full runs, timed there: part of their time, not all of it.
    assert 0 < result["model_seconds_in_full"] < result["seconds"]["full"]
    assert 0 < result["ratio_model_in_full"] < 1


@pytest.mark.slow
def test_bench_gpu_smoke_on_cpu() -> None:
    result = run_benchmark("bench_gpu.py", "--device", "cpu", "--sizes", "minilm", "--docs", "1", "--chars", "400",
                           "--precisions", "float32", "bf16")
    minilm = result["sizes"]["minilm"]
    assert result["device"] == "cpu" and minilm["word_pieces"] > 0
    fp32 = minilm["float32"]
    assert {"bare_pieces_per_s", "encoder_pieces_per_s", "full_pieces_per_s", "encoder_vs_bare", "full_vs_bare",
            "writer_pieces_per_s", "full_vs_writer", "planning_pieces_per_s", "planning_vs_bare"} <= set(fp32)
    assert fp32["ivf_build_seconds"] == {"full": 0.0, "writer": 0.0}  # far below IVF_THRESHOLD
    assert 0 < fp32["calling_thread_cpu_seconds"]["writer"] <= fp32["seconds"]["writer"] * 1.05
    # The writer's ceiling: the same add with a model that costs nothing is faster than with the model.
    assert fp32["writer_pieces_per_s"] > fp32["full_pieces_per_s"]
    # Off CUDA the encoder refuses bf16, so only the bare model's bf16 rate is measured.
    assert set(minilm["bf16"]) == {"bare_pieces_per_s", "bare_vs_float32_bare", "seconds"}
    assert "best_full_vs_half_bare" in minilm


@pytest.mark.slow
def test_bench_memory_smoke() -> None:
    result = run_benchmark("bench_memory.py", "--mb", "0.02", "--model", "tiny")
    assert result["documents"]["0.02MB"]["chars"] == 20_000
    assert 50 < result["documents"]["0.02MB"]["peak_rss_mb"] < 4000


@pytest.mark.slow
def test_bench_size_smoke() -> None:
    result = run_benchmark("bench_size.py", "--docs", "1", "--chars", "2500", "--queries", "10",
                           "--compressions", "flat", "sq8", "fp16")
    sq8 = result["compressions"]["sq8"]
    assert result["compressions"]["flat"]["same_word_top10_overlap"] == 1.0
    assert {"vectors_per_occurrence", "meta_per_occurrence", "any_word_recall_at_10"} <= set(sq8)
    assert sq8["vectors_per_occurrence"] < result["compressions"]["flat"]["vectors_per_occurrence"]


@pytest.mark.slow
def test_bench_query_smoke() -> None:
    result = run_benchmark("bench_query.py", "--docs", "1", "--chars", "1500", "--queries", "5",
                           "--scale-docs", "1", "--synthetic", "3000", "--clusters", "50")
    assert {"p50_ms", "p95_ms"} <= set(result["same_word"]["query"])
    assert "ratio_p50_query_vs_encode" in result["same_word"]
    assert "ratio_p50_total_vs_encode" in result["same_word_full_size"]
    assert {"p50_ms", "recall_at_10", "index_type"} <= set(result["any_word_synthetic"])


@pytest.mark.slow
def test_bench_precision_smoke(tmp_path: Path) -> None:
    if not (SHARED / "data" / "coarsewsd20").is_dir():
        pytest.skip("../shared/data/coarsewsd20 is not here")
    split = subprocess.run([sys.executable, str(SHARED / "tools" / "split_coarsewsd.py"), str(tmp_path / "cwsd")],
                           capture_output=True, text=True, check=False)
    assert split.returncode == 0, split.stderr
    result = run_benchmark("bench_precision.py", "--data", str(tmp_path / "cwsd"), "--words", "1",
                           "--train", "6", "--test", "3")
    assert {"float32", "int8", "accuracy_change_points", "ratio_int8_vs_float32_speed"} <= set(result)


@pytest.mark.slow
def test_bench_cold_query_smoke() -> None:
    result = run_benchmark("bench_cold_query.py", "--runs", "1")
    assert set(result["stages_s"]) == {"cli_import", "torch_import", "transformers_import", "open_index",
                                       "model_load", "first_query", "warm_query"}
    assert set(result["commands_s"]) == {"help", "info", "query"} and result["cold_total_s"] > 0


def test_offline_site_brings_what_bench_gpu_imports_beyond_torch_and_transformers() -> None:
    # The GPU machine has torch and transformers (and what they require); offline_site.sh must bring the rest
    # bench_gpu.py imports. charset-normalizer (sensesearch.decoding) was missing: transformers 5 no longer
    # pulls requests, so the benchmark stopped at its imports there.
    import importlib.metadata as metadata
    import re

    code = ("import sys; sys.path[:0] = ['benchmarks']; import bench_gpu; "
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env,
                          timeout=300, check=True)
    owners = metadata.packages_distributions()
    imported = {dist for module in done.stdout.split() for dist in owners.get(module, [])}

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    provided, todo = set(), ["torch", "transformers"]
    while todo:
        dist = canonical(todo.pop())
        if dist in provided:
            continue
        provided.add(dist)
        try:
            requires = metadata.requires(dist) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0] for r in requires if "extra ==" not in r]
    script = (REPO / "benchmarks" / "offline_site.sh").read_text(encoding="utf-8")
    downloaded = {canonical(m) for m in re.findall(r"'([A-Za-z0-9_.-]+)[<>=]", script)}
    missing = {canonical(d) for d in imported} - provided - downloaded - {"sensesearch"}
    assert not missing, f"offline_site.sh does not bring {sorted(missing)}"
