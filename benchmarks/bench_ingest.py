"""Ingest speed: per-sentence baseline, bare batched forward, full pipeline and int8 pipeline, one run.

All four read the same sentences (the pipeline's own segmentation of the corpus) and are rated
by the same count of word pieces, so their ratios hold on a noisy shared machine.

    python benchmarks/bench_ingest.py                      # the whole inaugural corpus
    python benchmarks/bench_ingest.py --docs 2 --chars 3000  # smoke size
    python benchmarks/bench_ingest.py --methods bare full    # only the full/bare ratio (minutes less)
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, corpus_sentences, emit, folder_bytes, pipeline_chunks, remove, rss_mb, subsample_corpus

from sensesearch.config import EncoderSettings
from sensesearch.encoder import TransformerEncoder
from sensesearch.index import SenseIndex
from sensesearch.ingest import CHUNK_SENTENCES

CLASSIC_MAX_PIECES = 512


def per_sentence_baseline(encoder: TransformerEncoder, sentences: list[str]) -> float:
    """The classic recipe: one [CLS] s [SEP] forward per sentence, last four layers summed, pieces averaged."""
    import torch

    tokenizer, model = encoder.tokenizer, encoder.model
    started = time.perf_counter()
    with torch.inference_mode():
        for sentence in sentences:
            inputs = tokenizer(sentence, return_tensors="pt", truncation=True, max_length=CLASSIC_MAX_PIECES)
            hidden = model(**inputs, output_hidden_states=True).hidden_states
            pieces = torch.stack(hidden[-4:]).sum(0)[0]
            word_ids = inputs.word_ids(0)
            for word in sorted({w for w in word_ids if w is not None}):
                rows = [i for i, w in enumerate(word_ids) if w == word]
                pieces[rows].mean(0)
    return time.perf_counter() - started


def bare_forward(encoder: TransformerEncoder, chunks: list[list[str]]) -> float:
    """The model alone on the pipeline's own batches (its chunks, _common.pipeline_chunks; built beforehand, outside
    the clock)."""
    import torch

    batches = []
    for chunk in chunks:
        plan = encoder.planner.plan(chunk)
        batches.extend((torch.from_numpy(b.ids), torch.from_numpy(b.mask)) for b in encoder.planner.batches(plan))
    started = time.perf_counter()
    with torch.inference_mode():
        for ids, mask in batches:
            encoder.model(input_ids=ids, attention_mask=mask)
    return time.perf_counter() - started


class ForwardClock:
    """Adds up the seconds of the model's own forward calls while `on`: the full pipeline's time less these is its
    overhead (planning, pooling, writing), measured in the same run as the pipeline, so free of the load drifting
    between the bare and the full runs that moves their ratio by several percent from round to round."""

    def __init__(self, model: Any) -> None:
        self.seconds = 0.0
        self.on = False
        self._forward = model.forward
        model.forward = self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.on:
            return self._forward(*args, **kwargs)
        started = time.perf_counter()
        try:
            return self._forward(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def timed(work: Any, *args: Any) -> tuple[float, float, Any]:
    """(wall seconds, this process's CPU seconds, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    names = tuple(args.methods)
    wall = dict.fromkeys(names, 0.0)
    cpu = dict.fromkeys(names, 0.0)
    rss: dict[str, float] = {}
    try:
        corpus = subsample_corpus([Path(c) for c in args.corpus], workdir / "corpus", args.docs, args.chars)
        files = sorted(corpus.iterdir())
        rounds = max(1, min(args.rounds, len(files)))
        encoder = TransformerEncoder(EncoderSettings(), batch_tokens=args.batch_tokens)
        int8 = TransformerEncoder(EncoderSettings(precision="int8"), batch_tokens=args.batch_tokens) \
            if "int8" in names else encoder
        rss["models_loaded"] = rss_mb()
        clock = ForwardClock(encoder.model)
        full = SenseIndex.create(workdir / "full", settings=encoder.settings, encoder=encoder,
                                 compression=args.compression)
        quick = SenseIndex.create(workdir / "int8", settings=int8.settings, encoder=int8,
                                  compression=args.compression)
        n_sentences = pieces = pipeline_pieces = 0
        per_round: list[dict[str, float]] = []
        # Rounds over slices of the corpus, each method in turn, so drifting load on a shared machine
        # falls on all four alike; odd rounds take them in the reverse order, so that none always runs
        # first (on a cold cache) or right after another's garbage.
        for r in range(rounds):
            part = workdir / f"part{r}"
            part.mkdir()
            for path in files[r::rounds]:
                path.rename(part / path.name)
            sentences = corpus_sentences(part)
            n_sentences += len(sentences)
            pieces += sum(len(ids) for ids in encoder.tokenizer(sentences, add_special_tokens=False)["input_ids"])
            steps = {"baseline": (per_sentence_baseline, encoder, sentences),
                     "bare": (bare_forward, encoder, pipeline_chunks(part)),
                     "full": (full.add, [part]), "int8": (quick.add, [part])}
            this_round: dict[str, float] = {}
            for name in names if r % 2 == 0 else names[::-1]:
                work, *work_args = steps[name]
                clock.on = name == "full"
                w, c, result = timed(work, *work_args)
                clock.on = False
                if name == "full":
                    pipeline_pieces += result.word_pieces
                wall[name] += w
                cpu[name] += c
                this_round[name] = w
                rss[name] = rss_mb()
            per_round.append(this_round)
        occurrences = full.info().occurrences
        full.close()
        quick.close()
        # Measured once closed: an open SQLite database still has its write-ahead log beside it.
        stored = {"vectors": folder_bytes(workdir / "full", "vectors.faiss"),
                  "meta": folder_bytes(workdir / "full", "meta.sqlite*")}
    finally:
        remove(workdir)
    if "full" in names and pipeline_pieces != pieces:
        raise SystemExit(f"the pipeline saw {pipeline_pieces} word pieces, the benchmark counted {pieces}")
    rate = {name: pieces / max(s, 1e-9) for name, s in wall.items()}
    cpu_rate = {name: pieces / max(s, 1e-9) for name, s in cpu.items()}

    def ratio(rates: dict[str, float], a: str, b: str) -> float | None:
        return round(rates[a] / rates[b], 3) if a in rates and b in rates else None

    # Each round's own full/bare (as rates: bare seconds over full seconds): a load spike on the shared machine
    # moves one round's figure, not the median of them.
    round_ratios = [round(t["bare"] / max(t["full"], 1e-9), 3) for t in per_round if "bare" in t and "full" in t]

    return {
        "benchmark": "ingest", "corpus": [str(c) for c in args.corpus], "documents": len(files),
        "chars_per_document": args.chars or "all", "rounds": rounds, "sentences": n_sentences, "word_pieces": pieces,
        "occurrences": occurrences, "threads": torch.get_num_threads(), "batch_tokens": args.batch_tokens,
        "chunk_sentences": CHUNK_SENTENCES, "compression": args.compression,
        "seconds": {k: round(v, 3) for k, v in wall.items()},
        "cpu_seconds": {k: round(v, 3) for k, v in cpu.items()},
        "pieces_per_s": {k: round(v, 1) for k, v in rate.items()},
        "pieces_per_cpu_s": {k: round(v, 1) for k, v in cpu_rate.items()},
        "ratio_full_vs_bare": ratio(rate, "full", "bare"),
        "ratio_full_vs_bare_by_round": round_ratios or None,
        "ratio_full_vs_bare_median_round": round(statistics.median(round_ratios), 3) if round_ratios else None,
        # The model's share of the full pipeline's own time: what full/bare would be with no drift between runs.
        "model_seconds_in_full": round(clock.seconds, 3) if "full" in names else None,
        "ratio_model_in_full": round(clock.seconds / wall["full"], 3) if "full" in names else None,
        "ratio_full_vs_baseline": ratio(rate, "full", "baseline"),
        "ratio_int8_vs_baseline": ratio(rate, "int8", "baseline"),
        "ratio_int8_vs_full": ratio(rate, "int8", "full"),
        "cpu_ratio_full_vs_bare": ratio(cpu_rate, "full", "bare"),
        "cpu_ratio_int8_vs_baseline": ratio(cpu_rate, "int8", "baseline"),
        "peak_rss_mb_after": rss,
        "bytes_per_occurrence": {k: round(v / max(occurrences, 1), 1) for k, v in stored.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+", default=[str(REPO / "corpora" / "inaugural")])
    parser.add_argument("--docs", type=int, default=0, help="First N files of each corpus folder (0: all).")
    parser.add_argument("--chars", type=int, default=0, help="Cut each file to N characters (0: whole).")
    parser.add_argument("--rounds", type=int, default=4, help="Interleave the four methods over N corpus slices.")
    parser.add_argument("--batch-tokens", type=int, default=4096, help="Padded tokens per batch (the CPU default).")
    parser.add_argument("--compression", default="sq8")
    parser.add_argument("--methods", nargs="+", default=["baseline", "bare", "full", "int8"],
                        choices=["baseline", "bare", "full", "int8"], help="Which of the four to run.")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default).")
    logging.basicConfig(level=logging.WARNING)
    emit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
