"""CLI commands `eval coarsewsd`, `eval wic` and `senses`, registered on the main typer app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from . import kwic
from .cli import (DEFAULT_INDEX, CombineOption, DeviceOption, DocumentOption, IndexOption, JsonOption, LayersOption,
                  ModelOption, PoolingOption, app, emit_json, encoder_settings, err, guarded, out)
from .config import COMPRESSION_CHOICES
from .errors import SenseSearchError
from .evaldata import read_coarsewsd, read_wic
from .evaluate import DEFAULT_KNN, METHODS, evaluate_coarsewsd, evaluate_wic
from .index import SenseIndex
from .senses import induce_senses, plot_senses
from .cli import CsvOption
from .cli_lexico import BinWidthOption, ByOption, ChartOption, LemmaOption, WhereOption, print_timeline
from .diachronic import plot_timeline, sense_timeline

eval_app = typer.Typer(help="Measure how well usages fall apart by sense on public benchmarks.\n\n"
                            "Example: sensesearch eval coarsewsd /tmp/dev/train /tmp/dev/test --words bank,crane",
                       no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@eval_app.command("coarsewsd")
@guarded
def eval_coarsewsd(
    train_dir: Annotated[Path, typer.Argument(help="CoarseWSD-20 folder with one sub-folder per word (training).")],
    test_dir: Annotated[Path, typer.Argument(help="The same layout with the usages to label.")],
    method: Annotated[str, typer.Option(help=f"{'|'.join(METHODS)}: nearest sense centroid, or vote of k nearest usages.")] = "centroid",
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Neighbours that vote with --method knn.")] = DEFAULT_KNN,
    words: Annotated[Optional[str], typer.Option(help="Comma-separated words to evaluate [default: all].")] = None,
    max_train: Annotated[Optional[int], typer.Option(min=1, help="Subsample at most this many training usages per word.")] = None,
    max_test: Annotated[Optional[int], typer.Option(min=1, help="Subsample at most this many test usages per word.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the subsample.")] = 0,
    model: ModelOption = None,
    layers: LayersOption = None,
    combine: CombineOption = None,
    pooling: PoolingOption = None,
    compression: Annotated[str, typer.Option(help=f"Vector storage of the temporary index: {'|'.join(COMPRESSION_CHOICES)}.")] = "sq8",
    device: DeviceOption = None,
    json_: JsonOption = False,
) -> None:
    """Word sense disambiguation accuracy on CoarseWSD-20, through a temporary index of the training usages.

    Example: sensesearch eval coarsewsd /tmp/dev/train /tmp/dev/test --words bank,crane --layers 2:5 --json
    """
    if compression not in COMPRESSION_CHOICES:
        raise SenseSearchError(f"compression must be one of {', '.join(COMPRESSION_CHOICES)}")
    chosen = [w.strip() for w in words.split(",") if w.strip()] if words else None
    test = read_coarsewsd(test_dir, chosen, limit=max_test, seed=seed)
    train = read_coarsewsd(train_dir, list(test), limit=max_train, seed=seed)
    settings = encoder_settings(model, layers, combine, pooling)
    with err.status("loading model") as status:
        report = evaluate_coarsewsd(train, test, settings, method=method, k=k, compression=compression,
                                    device=device, progress=status.update)
    if json_:
        emit_json(report.to_dict())
        return
    table = Table(show_header=True, header_style="bold", box=None)
    for name in ("word", "train", "test", "accuracy", "macro-F1", "majority"):
        table.add_column(name, justify="left" if name == "word" else "right")
    for word, score in report.per_word.items():
        table.add_row(word, str(score.n_train), str(score.n), f"{score.accuracy:.2f}", f"{score.macro_f1:.2f}",
                      f"{score.majority_baseline:.2f}")
    out.print(table)
    recipe = f"{report.model}, layers {report.layers}, {report.combine}, pooling {report.pooling}"
    out.print(f"mean accuracy {report.mean_accuracy:.2f}  overall {report.overall_accuracy:.2f}  "
              f"macro-F1 {report.macro_f1:.2f}  ({report.method}{f', k={report.k}' if report.k else ''}; {recipe}; "
              f"{report.seconds:.0f} s)")


@eval_app.command("wic")
@guarded
def eval_wic(
    tune: Annotated[Path, typer.Argument(help="WiC folder (every *.data.txt with a *.gold.txt) or one file to tune on.")],
    test: Annotated[Path, typer.Argument(help="WiC folder or file to measure accuracy on.")],
    model: ModelOption = None,
    layers: LayersOption = None,
    combine: CombineOption = None,
    pooling: PoolingOption = None,
    device: DeviceOption = None,
    json_: JsonOption = False,
) -> None:
    """Word-in-Context accuracy: same meaning when the two usages' cosine reaches a threshold tuned on TUNE.

    Example: sensesearch eval wic ../shared/data/wic/train.data.txt ../shared/data/wic/dev.data.txt --json
    """
    tune_pairs, test_pairs = read_wic(tune), read_wic(test)
    with err.status(f"encoding {2 * (len(tune_pairs) + len(test_pairs))} usages"):
        report = evaluate_wic(tune_pairs, test_pairs, encoder_settings(model, layers, combine, pooling), device=device)
    if json_:
        emit_json(report.to_dict())
        return
    out.print(f"accuracy {report.accuracy:.2f} on {report.n} pairs, threshold {report.threshold:.4f} "
              f"(tuning accuracy {report.tune_accuracy:.2f} on {report.n_tune} pairs; {report.seconds:.0f} s)")


@app.command()
@guarded
def senses(
    word: Annotated[str, typer.Argument(help="The word whose usages to group into senses.")],
    index: IndexOption = Path(DEFAULT_INDEX),
    k: Annotated[Optional[int], typer.Option("-k", "--k", min=1, help="Number of senses [default: chosen by silhouette over 2..8].")] = None,
    examples: Annotated[int, typer.Option(min=0, help="Usages nearest each sense's centre to show.")] = 5,
    document: DocumentOption = None,
    plot: Annotated[Optional[Path], typer.Option(help="Write a 2-D picture of the usages, coloured by sense, to this "
                                                  "PNG (with --by: the senses' shares per bin).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the clustering and sampling.")] = 0,
    json_: JsonOption = False,
    lemma: LemmaOption = False,
    where: WhereOption = None,
    by: ByOption = None,
    bin_width: BinWidthOption = None,
    chart: ChartOption = "area",
    csv_: CsvOption = False,
) -> None:
    """Group a word's usages into senses, each with its size, typical usages and distinctive context words.

    Example: sensesearch senses bank --index indexes/default --plot bank.png
    Example: sensesearch senses power --by decade --plot power.png --index indexes/state_union
    """
    if chart not in ("area", "bars"):
        raise typer.BadParameter(f"area or bars, not {chart!r}", param_hint="--chart")
    with SenseIndex.open(index, read_only=True) as source:
        report = induce_senses(source, word, k=k, examples=examples, documents=document, seed=seed, lemma=lemma,
                               where=where or ())
        timeline = sense_timeline(source, report, by, bin_width) if by else None
    if timeline is not None:
        if plot is not None:
            plot_timeline(timeline, plot, kind=chart)
        if json_:
            emit_json({**report.to_dict(), "by": timeline.to_dict()})
        else:
            print_timeline(timeline, out, csv_)
        if plot is not None:
            err.print(f"Chart written to {plot}")
        return
    if plot is not None:
        plot_senses(report, plot)
    if json_:
        emit_json(report.to_dict())
        return
    out.print(f"[bold]{report.word}[/]: {report.n_usages:,} usages in {len(report.senses)} senses. {report.method}",
              markup=True)
    for group in report.senses:
        share = 100.0 * group.size / max(report.n_usages, 1)
        out.print(f"\n[bold]sense {group.sense}[/]  {group.size:,} usages ({share:.0f}%)  "
                  f"keywords: {', '.join(group.keywords) or '-'}", markup=True)
        if group.examples:
            kwic.render_kwic(group.examples, out)
    if plot is not None:
        err.print(f"Plot written to {plot}")
