"""Smoke run of benchmarks/bench_where.py (issue 14): one JSON line with a ratio per filter (not timed here)."""

from __future__ import annotations

from .test_benchmarks import run_benchmark


def test_bench_where_smoke() -> None:
    result = run_benchmark("bench_where.py", "--occurrences", "8000", "--queries", "4", "--vocabulary", "500")
    assert result["occurrences"] == 8000 and result["documents"] == 40
    assert set(result["cases"]) == {"unfiltered", "year_range", "year_and_party", "path_glob", "one_decade"}
    unfiltered = result["cases"]["unfiltered"]["median_candidates"]
    for name, case in result["cases"].items():
        assert case["ratio_p50_vs_unfiltered"] > 0 and case["query"]["p50_ms"] > 0
        assert case["median_candidates"] <= unfiltered
    assert 0 < result["cases"]["year_range"]["median_candidates"] < unfiltered
    assert "max_ratio_p50_filtered_vs_unfiltered" in result
