"""Check that an index's vectors, metadata and config agree, and drop what cannot be trusted.

The storage checks and the repair (rows against documents, FAISS ids against rows, the codec; the
write order of a repair) belong to the occurrence store (storage_check.py). This module adds the
config and model checks, takes the writer lock for a repair and writes the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any


from .config import COMPRESSION_CHOICES, IndexConfig
from .contract import checked
from .encoder import load_encoder
from .errors import ConfigMismatchError, ModelLoadError, SetupError
from .folder import acquire_write_lock, check_encoder, read_index_config, store_url, writer_active
from .reencode import Encode, rewrite_vectors
from . import storage_check
from .storage_check import Findings, Problem, check_storage
from .schema import DocumentRow
from .store import MetaStore
from .vectors import VectorStore

UNREPAIRABLE = ("config", "model", "database")


@dataclass(frozen=True)
class VerifyReport:
    """Counts, problems and (after --repair) what was dropped: `dropped_documents` their labels, `dropped_paths` the
    file each was read from, in the same order (records of one id in two JSON Lines files share a label)."""

    path: str
    documents: int
    sentences: int
    occurrences: int
    vectors: int
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()
    repaired: tuple[str, ...] = ()
    dropped_documents: tuple[str, ...] = ()
    dropped_paths: tuple[str, ...] = ()

    @property
    def sound(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sound"] = self.sound
        data["problems"] = [{"kind": p.kind, "detail": p.detail} for p in self.problems]
        return data


def verify_index(path: str | Path, *, repair: bool = False, check_model: bool = True,
                 device: str | None = None) -> VerifyReport:
    """Check the index at `path`; with `repair`, re-encode lost vectors, drop untrusted vectors and documents, then
    check again."""
    folder = Path(path)
    config = read_index_config(folder)
    url = store_url(folder, config)  # before any lock: a missing store is never made, nor its vectors dropped
    lock = acquire_write_lock(folder, 0) if repair else None
    store: MetaStore | None = None
    try:
        # Without --repair, verify is a reader: the store is opened read-only and nothing is written.
        store = MetaStore(url, lemma_language=config.lemma_language,
                          read_only=not repair)
        findings, vectors, docs = _check(folder, config, store, check_model, device)
        if lock is None and writer_active(folder):
            _in_progress(findings)
        if not repair or not findings.problems:
            return _report(folder, store, vectors, findings)
        if vectors is not None and vectors.dim != config.dim:
            config = replace(config, dim=vectors.dim)
            config.save(folder)
            findings.notes.append(f"config.json's dim was set to {vectors.dim}, the stored vectors' dimension")
        encoder = _checked_encode(folder, config, device)
        repaired, dropped = storage_check.repair(folder, config, store, vectors, docs, findings, encoder)
        if any(p.kind == "codec" for p in findings.problems):
            try:
                repaired += (rewrite_vectors(folder, config, store, encoder),)
            except storage_check.MODEL_ERRORS as exc:
                # As for lost vectors: the rest is repaired, the codec stays, and the check below reports it.
                repaired += (f"left the vectors and their codec as they are: the index's model could not be used "
                             f"({exc}); run `sensesearch verify --repair` again where it loads",)
        model_problem = any(p.kind == "model" for p in findings.problems)
        after, vectors, _ = _check(folder, config, store, check_model=model_problem, device=device)
        after.notes[:0] = findings.notes
        after.problems[:0] = [p for p in findings.problems if p.kind in UNREPAIRABLE and p.kind != "model"
                              and p not in after.problems]
        return _report(folder, store, vectors, after, repaired, dropped)
    finally:
        if store is not None:
            store.close()
        if lock is not None:
            lock.release()


IN_PROGRESS = ("interrupted", "stray vectors")
"""Kinds of finding that a writer at work leaves for a while (a document cut by a checkpoint, vectors saved before
their rows commit): damage only once no writer holds the index."""


def _in_progress(findings: Findings) -> None:
    """Findings a running writer accounts for become a note: they were reported as damage to repair, so a verify
    scheduled beside an `index` run failed, and following its advice would have cut the writer's work short."""
    held = [p for p in findings.problems if p.kind in IN_PROGRESS]
    findings.problems[:] = [p for p in findings.problems if p.kind not in IN_PROGRESS]
    found = "; ".join(p.detail.split(" (")[0].split(";")[0] for p in held)
    findings.notes.append("another process is writing to this index" + (
        f", and this may be its work in progress, not damage: {found}; verify again once it is done" if held else ""))


def _checked_encode(folder: Path, config: IndexConfig, device: str | None) -> Callable[[], Encode]:
    """The encode function of the model config.json names, loaded when first asked for (then kept: a repair may ask
    three times) and checked against it as a writer checks it: settings, weights and tokenizer fingerprints,
    dimension (ConfigMismatchError), and its output against the Encoder contract, as `index` checks it."""
    loaded: list[Encode] = []

    def load() -> Encode:
        if not loaded:
            encoder = load_encoder(config.encoder, device, recorded=True)
            try:
                check_encoder(folder, config, encoder)
            except ConfigMismatchError as exc:
                raise ConfigMismatchError(f"cannot re-encode: {exc}") from None
            loaded.append(checked(encoder).encode)
        return loaded[0]

    return load


def _report(folder: Path, store: MetaStore, vectors: VectorStore | None, findings: Findings,
            repaired: tuple[str, ...] = (), dropped: tuple[DocumentRow, ...] = ()) -> VerifyReport:
    counts = store.counts()
    return VerifyReport(path=str(folder), documents=counts["documents"], sentences=counts["sentences"],
                        occurrences=counts["occurrences"], vectors=vectors.ntotal if vectors else 0,
                        problems=tuple(findings.problems), notes=tuple(findings.notes), repaired=repaired,
                        dropped_documents=tuple(d.label for d in dropped),
                        dropped_paths=tuple(d.path for d in dropped))


def _check(folder: Path, config: IndexConfig, store: MetaStore, check_model: bool,
           device: str | None) -> tuple[Findings, VectorStore | None, list[DocumentRow]]:
    found = Findings()
    _check_config(config, found, check_model, device)
    vectors, docs = check_storage(folder, config, store, found)
    return found, vectors, docs


def _check_config(config: IndexConfig, found: Findings, check_model: bool, device: str | None) -> None:
    if not config.model_fingerprint:
        found.add("config", "config.json records no model fingerprint")
    if config.dim < 1:
        found.add("config", f"config.json gives dimension {config.dim}")
    if config.compression not in COMPRESSION_CHOICES:
        found.add("config", f"config.json names unknown compression {config.compression!r}")
    if not check_model:
        return
    try:
        encoder = load_encoder(config.encoder, device, recorded=True)
    except (ModelLoadError, SetupError) as exc:  # SetupError: a bf16 index on a machine without CUDA
        found.notes.append(f"model not checked: {exc}")
        return
    if encoder.fingerprint != config.model_fingerprint:
        found.add("model", f"{config.encoder.model!r} now has weights fingerprint {encoder.fingerprint}, "
                           f"the index was built with {config.model_fingerprint}")
    if encoder.dim != config.dim:
        found.add("model", f"{config.encoder.model!r} with these layers gives dimension {encoder.dim}, "
                           f"config.json says {config.dim}")
