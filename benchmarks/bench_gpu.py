"""GPU (or CPU) throughput by model size: bare forward, encoder and full index pipeline, in word pieces/s.

Random-weight BERT models of the MiniLM-L6, BERT-base and BERT-large shapes are built from the
bundled tokenizer and config (same compute per token as trained weights; nothing is downloaded).
All figures count the same word pieces of the same sentences (the pipeline's own segmentation),
so their ratios hold within one run. "bare" is the model alone on the pipeline's own batches,
already on the device; "encoder" is TransformerEncoder.encode_stream over ingest-sized chunks;
"planning" is the encoder's CPU half alone on one thread (tokenising, windows, padded batches: Planner.plan and
batches over the same chunks), which must outpace "bare" for the device to be kept busy;
"full" is SenseIndex.add_documents of the corpus files (what add does once paths are checked), wall clock,
the IVF build at its end included; "writer" is the same add with a model that costs nothing
(_common.StandInEncoder with a vector pool): the most any model's full pipeline can reach with this
writer on this machine.

    python benchmarks/bench_gpu.py --device cuda                          # all sizes, float32 and bf16
    python benchmarks/bench_gpu.py --device cpu --sizes minilm --docs 1 --chars 600   # smoke size
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import (MODEL_SIZES, REPO, StandInEncoder, corpus_sentences, emit, pipeline_chunks, random_bert,
                     remove, subsample_corpus)

from sensesearch.config import EncoderSettings
from sensesearch.corpus import read_corpus
from sensesearch.encoder import TransformerEncoder, runs_on_host
from sensesearch.index import SenseIndex

COSINE_SENTENCES = 500
WRITER_POOL = 65_536
"""Unit vectors the writer run takes in turn: drawing fresh ones would cost more than the writer."""


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize(torch.device(device))


def bare_forward(encoder: TransformerEncoder, chunks: list[list[str]], precision: str) -> float:
    """Seconds for the model alone on the pipeline's own batches, moved to the device beforehand."""
    import torch

    device = torch.device(encoder.device)
    batches = []
    for chunk in chunks:
        plan = encoder.planner.plan(chunk)
        batches.extend((torch.from_numpy(b.ids).to(device), torch.from_numpy(b.mask).to(device))
                       for b in encoder.planner.batches(plan))
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    with torch.inference_mode(), torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None):
        encoder.model(input_ids=batches[0][0][:1], attention_mask=batches[0][1][:1])  # warm-up
        synchronize(encoder.device)
        started = time.perf_counter()
        for ids, mask in batches:
            encoder.model(input_ids=ids, attention_mask=mask)
        synchronize(encoder.device)
    return time.perf_counter() - started


def planning(encoder: TransformerEncoder, chunks: list[list[str]]) -> float:
    """Seconds for the planner alone to turn every chunk into padded batches, on the calling thread."""
    started = time.perf_counter()
    for chunk in chunks:
        encoder.planner.batches(encoder.planner.plan(chunk))
    return time.perf_counter() - started


def indexed(encoder: Any, settings: EncoderSettings, corpus: Path, folder: Path,
            args: argparse.Namespace) -> tuple[float, Any, float, float]:
    """Wall seconds of adding `corpus` to a new index (its IVF build included), its report, the seconds
    of the IVF build alone (0 below IVF_THRESHOLD), timed by the phases the last checkpoint announces,
    and the CPU seconds of the calling thread, which writes: near the wall time, it is what limits the run."""
    marks: dict[str, float] = {}
    try:
        with SenseIndex.create(folder, settings=settings, encoder=encoder, compression=args.compression) as index:
            started, calling_cpu = time.perf_counter(), time.thread_time()
            report = index.add_documents(read_corpus([corpus]),
                                         phase=lambda name: marks.setdefault(name, time.perf_counter()))
            wall, calling_cpu = time.perf_counter() - started, time.thread_time() - calling_cpu
    finally:
        remove(folder)
    building = marks.get("building the vector index")
    return wall, report, 0.0 if building is None else marks["saving the vectors"] - building, calling_cpu


def measure(model: Path, precision: str, args: argparse.Namespace, chunks: list[list[str]], corpus: Path,
            workdir: Path, pieces: int) -> tuple[dict[str, Any], np.ndarray]:
    """Rates of one model at one precision, and its vectors for the first sentences (for cosines)."""
    import torch

    settings = EncoderSettings(model=str(model), precision=precision)
    if precision in ("bf16", "fp16") and not args.device.startswith("cuda"):
        # The encoder refuses half precision off CUDA; the bare model still shows what autocast costs here.
        probe = TransformerEncoder(EncoderSettings(model=str(model)), device=args.device, batch_tokens=args.batch_tokens)
        bare = bare_forward(probe, chunks, precision)
        return {"seconds": {"bare": round(bare, 3)}, "bare_pieces_per_s": round(pieces / bare, 1)}, np.zeros((0, 0))
    encoder = TransformerEncoder(settings, device=args.device, batch_tokens=args.batch_tokens)
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(torch.device(args.device))
    seconds = {"bare": bare_forward(encoder, chunks, precision), "planning": planning(encoder, chunks)}
    started = time.perf_counter()
    encoded_pieces = sum(e.n_pieces for result in encoder.encode_stream(iter(chunks)) for e in result)
    seconds["encoder"] = time.perf_counter() - started
    seconds["full"], report, full_ivf, full_cpu = indexed(encoder, settings, corpus,
                                                          workdir / f"index-{model.name}-{precision}", args)
    stand_in = StandInEncoder(encoder, pool=WRITER_POOL, runs_on_host=runs_on_host(encoder))
    seconds["writer"], _, writer_ivf, writer_cpu = indexed(stand_in, settings, corpus,
                                                           workdir / f"writer-{model.name}-{precision}", args)
    if encoded_pieces != pieces or report.word_pieces != pieces:
        raise SystemExit(f"pieces differ: counted {pieces}, encoder {encoded_pieces}, pipeline {report.word_pieces}")
    sample = [s for chunk in chunks for s in chunk][:COSINE_SENTENCES]
    vectors = np.concatenate([e.vectors for e in encoder.encode(sample)])
    result: dict[str, Any] = {f"{k}_pieces_per_s": round(pieces / max(v, 1e-9), 1) for k, v in seconds.items()}
    result["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
    result["encoder_vs_bare"] = round(seconds["bare"] / seconds["encoder"], 3)
    result["planning_vs_bare"] = round(seconds["bare"] / seconds["planning"], 3)
    result["full_vs_bare"] = round(seconds["bare"] / seconds["full"], 3)
    result["full_vs_writer"] = round(seconds["writer"] / seconds["full"], 3)
    # The IVF build (centroids trained, lists filled: on the encoder's device where it has one) within each wall.
    result["ivf_build_seconds"] = {"full": round(full_ivf, 3), "writer": round(writer_ivf, 3)}
    result["calling_thread_cpu_seconds"] = {"full": round(full_cpu, 3), "writer": round(writer_cpu, 3)}
    result["batch_tokens"] = encoder.batch_tokens
    if args.device.startswith("cuda"):
        result["gpu_memory_peak_mb"] = round(torch.cuda.max_memory_allocated(torch.device(args.device)) / 2**20, 1)
    return result, vectors


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    workdir = Path(tempfile.mkdtemp(prefix="bench-gpu-"))
    precisions = args.precisions or (["float32", "bf16"] if args.device.startswith("cuda") else ["float32"])
    out: dict[str, Any] = {"benchmark": "gpu", "device": args.device, "precisions": precisions,
                           "corpus": [str(c) for c in args.corpus], "torch": torch.__version__}
    if args.device.startswith("cuda"):
        out["gpu"] = torch.cuda.get_device_name(torch.device(args.device))
    try:
        corpus = subsample_corpus([Path(c) for c in args.corpus], workdir / "corpus", args.docs, args.chars)
        sentences = corpus_sentences(corpus)
        chunks = pipeline_chunks(corpus)
        sizes: dict[str, Any] = {}
        for size in args.sizes:
            model = random_bert(size, workdir / f"model-{size}")
            tokenizer_pieces = TransformerEncoder(EncoderSettings(model=str(model)), device="cpu").tokenizer(
                sentences, add_special_tokens=False)["input_ids"]
            pieces = sum(len(ids) for ids in tokenizer_pieces)
            results, vectors = {}, {}
            for precision in precisions:
                results[precision], vectors[precision] = measure(model, precision, args, chunks, corpus, workdir, pieces)
            fp32_bare = results.get("float32", {}).get("bare_pieces_per_s")
            for precision, result in results.items():
                if precision != "float32" and fp32_bare:
                    result["bare_vs_float32_bare"] = round(result["bare_pieces_per_s"] / fp32_bare, 3)
                if precision != "float32" and vectors[precision].size and vectors.get("float32", np.zeros(0)).size:
                    result["mean_cosine_vs_float32"] = round(float(np.mean(np.sum(
                        vectors[precision] * vectors["float32"], axis=1))), 6)
            half_bare = max((r["bare_pieces_per_s"] for p, r in results.items() if p != "float32"), default=None)
            best_full = max((r.get("full_pieces_per_s", 0.0) for r in results.values()), default=0.0)
            if half_bare:
                results["best_full_vs_half_bare"] = round(best_full / half_bare, 3)
            sizes[size] = {"word_pieces": pieces, "sentences": len(sentences), **results}
            remove(workdir / f"model-{size}")
        out["sizes"] = sizes
    finally:
        remove(workdir)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="torch device: cuda, cuda:1, cpu.")
    parser.add_argument("--sizes", nargs="+", default=["minilm", "base", "large"], choices=sorted(MODEL_SIZES))
    parser.add_argument("--precisions", nargs="+", choices=["float32", "bf16", "fp16"],
                        help="default: float32 and bf16 on CUDA, float32 elsewhere.")
    parser.add_argument("--corpus", nargs="+",
                        default=[str(REPO / "corpora" / "inaugural"), str(REPO / "corpora" / "state_union")])
    parser.add_argument("--docs", type=int, default=0, help="First N files of each corpus folder (0: all).")
    parser.add_argument("--chars", type=int, default=0, help="Cut each file to N characters (0: whole).")
    parser.add_argument("--batch-tokens", type=int, default=None, help="Padded tokens per batch (default: by device).")
    parser.add_argument("--compression", default="sq8")
    logging.basicConfig(level=logging.WARNING)
    emit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
