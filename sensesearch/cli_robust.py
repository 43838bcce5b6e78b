"""CLI commands that keep an index sound: `verify` (with --repair), `remove` and `reindex`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import sensesearch

from .cli import app, emit_json, err, guarded, listed_apart, out, plural
from .cli_progress import CommandProgress
from .cli_options import DEFAULT_INDEX, DeviceOption, IndexOption, JsonOption, WaitOption


@app.command()
@guarded
def verify(
    index: IndexOption = Path(DEFAULT_INDEX),
    repair: Annotated[bool, typer.Option("--repair", help="Re-encode lost vectors from the stored sentences, "
                                                           "drop stray vectors and documents that cannot be "
                                                           "trusted, so that `index` redoes them.")] = False,
    no_model: Annotated[bool, typer.Option("--no-model", help="Do not load the model to compare its "
                                                               "fingerprint with the index's.")] = False,
    device: DeviceOption = None,
    json_: JsonOption = False,
) -> None:
    """Check that vectors, metadata and config agree; exit 1 and list the problems if they do not.

    \b
    Example: sensesearch verify --index indexes/demo --repair --no-model
    """
    report = sensesearch.verify_index(index, repair=repair, check_model=not no_model, device=device)
    if json_:
        emit_json(report.to_dict())
    else:
        _print_verify(report, repaired_already=repair)
    if not report.sound:
        raise typer.Exit(1)


def _print_verify(report: sensesearch.VerifyReport, repaired_already: bool = False) -> None:
    out.print(f"{report.path}: {plural(report.documents, 'document')}, {plural(report.sentences, 'sentence')}, "
              f"{plural(report.occurrences, 'occurrence')}, {plural(report.vectors, 'vector')}")
    for action in report.repaired:
        out.print(f"repaired: {action}", markup=False)
    if report.dropped_documents:
        out.print("dropped (run the same `sensesearch index` command to index them again): "
                  + listed_apart(list(zip(report.dropped_documents, report.dropped_paths))), markup=False)
    for note in report.notes:
        out.print(f"note: {note}", markup=False)
    if report.sound:
        out.print("sound: every vector has its row and every row its vector")
        return
    out.print(f"{plural(len(report.problems), 'problem')}:")
    for problem in report.problems:
        out.print(f"  - {problem.kind}: {problem.detail}", markup=False)
    # A damaged database is beyond --repair (its problem line says what to do instead); a repair
    # already run must not send the user round again.
    if not report.repaired and not repaired_already and any(p.kind != "database" for p in report.problems):
        out.print("run `sensesearch verify --repair` to drop what cannot be trusted")


@app.command()
@guarded
def remove(
    paths: Annotated[list[str], typer.Argument(help="Indexed files, folders (everything below) or JSONL ids.")],
    index: IndexOption = Path(DEFAULT_INDEX),
    wait: WaitOption = 0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be removed; change nothing.")] = False,
    json_: JsonOption = False,
) -> None:
    """Remove documents, their vectors and rows, from an index; nothing is removed if a name matches nothing.

    A folder removes every document below it: try --dry-run first to see which.

    \b
    Example: sensesearch remove corpora/demo/senses.txt --index indexes/demo --dry-run
    """
    with CommandProgress(err) as progress, sensesearch.SenseIndex.open(
            index, read_only=dry_run, lock_timeout=wait, lock_wait=progress.lock_wait(index)) as target:
        matches = target.matching_documents(paths)  # InputError, nothing removed, when a name matches nothing
        chosen = {doc.id: doc for docs in matches.values() for doc in docs}
        # Counted before the rows go: afterwards nothing tells which usages the examples were taken from.
        unlinked = sensesearch.examples_taken_from(target, list(chosen.values()))
        if not dry_run:
            target.remove_documents(list(chosen.values()))
    labels = [doc.label for doc in chosen.values()]
    # Records of one id in two JSON Lines files had been listed as two lines "r1", and --json named them alike too.
    named = sensesearch.listed_names((doc.label, doc.path) for doc in chosen.values())
    if json_:
        documents = [{"label": doc.label, "path": doc.path} for doc in chosen.values()]
        emit_json({"would_remove": labels, "dry_run": True, "documents": documents,
                   "unlinked_sense_examples": unlinked} if dry_run
                  else {"removed": labels, "documents": documents, "unlinked_sense_examples": unlinked})
        return
    verb = "Would remove" if dry_run else "Removed"
    out.print(f"{verb} {plural(len(labels), 'document')} from {index}:", markup=False, soft_wrap=True)
    listed: set[int] = set()
    for name, docs in matches.items():
        # A document two names reach (a file and its folder, one name in NFC and NFD) is listed once, under the first.
        fresh = [doc for doc in docs if doc.id not in listed]
        if not fresh:
            continue
        listed.update(doc.id for doc in fresh)
        if len(docs) > 1 or docs[0].label != name:
            shown = sensesearch.terminal_name(sensesearch.path_text(name))
            above = f", {len(docs) - len(fresh):,} listed above" if len(fresh) < len(docs) else ""
            out.print(f"  {shown} names {plural(len(docs), 'document')}{above}:", markup=False, soft_wrap=True)
        for doc in fresh:
            out.print(f"    {named[(doc.label, doc.path)]}", markup=False, soft_wrap=True)
    if unlinked:
        counts = ", ".join(f"{sensesearch.terminal_name(word)}: {n:,}" for word, n in unlinked.items())
        err.print(f"{'Would keep' if dry_run else 'Kept'} {plural(sum(unlinked.values()), 'sense example')} taken from "
                  f"usages of {'these' if dry_run else 'the removed'} documents ({counts}): they still define their "
                  "senses with their own vectors, but no longer name a usage (`sense list WORD --examples` marks them)",
                  markup=False, soft_wrap=True)
    if dry_run:
        out.print("Nothing was removed (--dry-run).")


@app.command()
@guarded
def reindex(
    index: IndexOption = Path(DEFAULT_INDEX),
    wait: WaitOption = 0,
    device: DeviceOption = None,
) -> None:
    """Encode every stored usage again from the sentences the index holds, its codes trained once on all of them.

    An sq8 index built in several runs holds codes trained on the vectors it had at each step, so two builds of
    the same documents can order near-ties apart; afterwards they hold the same codes. Needs the index's model,
    not the corpus files.

    \b
    Example: sensesearch reindex --index indexes/demo
    """
    with CommandProgress(err) as progress, sensesearch.SenseIndex.open(index, lock_timeout=wait, device=device,
                                                                         lock_wait=progress.lock_wait(index)) as target:
        info = target.info()
        sentences = info.sentences
        sensesearch.check_precision(target.config.encoder.precision, device, recorded=True)
        # Each step under its own name: one phase "loading the model, then encoding ..." had named the model all
        # through the encoding, and the codes' training, the layout and the save ran at 100% under it.
        progress.phase("loading the model")
        target.encoder  # noqa: B018  (loaded under its own phase, not inside the first batch)
        progress.phase("encoding the stored sentences again", total=info.occurrences, unit="usages")

        def advance(done: int) -> None:
            progress.update(done)
            if done >= info.occurrences:
                progress.phase("training the codes, laying out and saving the vectors")

        written = target.reindex(progress=advance)
    out.print(f"Re-encoded {plural(written, 'usage')} of {plural(sentences, 'sentence')} in {index}", markup=False,
              soft_wrap=True)
