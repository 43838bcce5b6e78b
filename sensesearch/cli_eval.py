"""CLI commands `eval coarsewsd`, `eval wic` and `senses`, registered on the main typer app."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.text import Text

import sensesearch

from .cli import TerminalTable, app, emit_json, err, fail, guarded, out, plural
from .cli_options import (DEFAULT_INDEX, SEED_MAX, CombineOption, Compression, CsvOption, DeviceOption, DocumentOption,
                          IndexOption, JsonOption, LayersOption, ModelOption, PlotOption, PoolingOption,
                          encoder_settings, named_path, value)
from .cli_lexico import BinWidthOption, ByOption, ChartOption, LemmaOption, WhereOption, print_timeline
from .cli_progress import CommandProgress
from .cli_usage import OneLineUsageGroup

eval_app = typer.Typer(help="Measure how well usages fall apart by sense on public benchmarks.\n\n"
                            "\b\nExample: sensesearch eval coarsewsd /tmp/dev/train /tmp/dev/test --words bank,crane",
                       no_args_is_help=True, rich_markup_mode=None, cls=OneLineUsageGroup)
app.add_typer(eval_app, name="eval")


@eval_app.command("coarsewsd")
@guarded
def eval_coarsewsd(
    train_dir: Annotated[Path, typer.Argument(
        parser=named_path("training folder"), help="CoarseWSD-20 folder with one sub-folder per word (training), "
                                                    "e.g. as `split_coarsewsd.py /tmp/dev` writes it.")],
    test_dir: Annotated[Path, typer.Argument(
        parser=named_path("test folder"), help="The same layout with the usages to label.")],
    method: Annotated[str, typer.Option(help="centroid: nearest sense centroid; knn: vote of the k nearest usages.")] = "centroid",
    k: Annotated[Optional[int], typer.Option("-k", "--k", min=1,
                                             help="Neighbours that vote with --method knn [default: 5].")] = None,
    words: Annotated[Optional[str], typer.Option(help="Comma-separated words to evaluate [default: all].")] = None,
    max_train: Annotated[Optional[int], typer.Option(min=1, help="Subsample at most this many training usages per word.")] = None,
    max_test: Annotated[Optional[int], typer.Option(min=1, help="Subsample at most this many test usages per word.")] = None,
    seed: Annotated[int, typer.Option(min=0, max=SEED_MAX, help="Seed of the subsample.")] = 0,
    model: ModelOption = None,
    layers: LayersOption = None,
    combine: CombineOption = None,
    pooling: PoolingOption = None,
    compression: Annotated[Compression, typer.Option(help="Vector storage of the temporary index.")] = "sq8",  # type: ignore[valid-type,assignment]
    device: DeviceOption = None,
    json_: JsonOption = False,
) -> None:
    """Word sense disambiguation accuracy on CoarseWSD-20, through a temporary index of the training usages.

    \b
    Example: sensesearch eval coarsewsd /tmp/dev/train /tmp/dev/test --words bank,crane --layers 2:5 --json
    """
    if method not in ("centroid", "knn"):
        fail(f"--method must be centroid or knn, not {method!r}", 2)
    if k is not None and method != "knn":  # it had been ignored, silently: the report said k null
        fail("-k is the number of neighbours that vote with --method knn: give --method knn too", 2)
    for folder in (train_dir, test_dir):
        if not folder.is_dir():
            fail(f"no such folder: {folder}")
    chosen = [w.strip() for w in words.split(",") if w.strip()] if words is not None else None
    if chosen == []:
        fail("--words names no word: give comma-separated words, or leave it out for all", 2)
    test = sensesearch.read_coarsewsd(test_dir, chosen, limit=max_test, seed=seed)
    train = sensesearch.read_coarsewsd(train_dir, list(test), limit=max_train, seed=seed)
    settings = encoder_settings(model, layers, combine, pooling)
    with CommandProgress(err) as progress:
        progress.phase("loading the model")
        report = sensesearch.evaluate_coarsewsd(train, test, settings, method=method,
                                                k=sensesearch.DEFAULT_KNN if k is None else k,
                                                compression=value(compression), device=device,
                                                progress=progress.phase)
    if json_:
        emit_json(report.to_dict())
        return
    table = TerminalTable(show_header=True, header_style="bold", box=None)
    for name in ("word", "train", "test", "accuracy", "macro-F1", "majority"):
        table.add_column(name, justify="left" if name == "word" else "right")
    for word, score in report.per_word.items():
        table.add_row(word, str(score.n_train), str(score.n), f"{score.accuracy:.2f}", f"{score.macro_f1:.2f}",
                      f"{score.majority_baseline:.2f}")
    out.print(table)
    out.print(f"mean accuracy {report.mean_accuracy:.2f}  overall {report.overall_accuracy:.2f}  "
              f"macro-F1 {report.macro_f1:.2f}  ({report.describe()}; {report.seconds:.0f} s)")


@eval_app.command("wic")
@guarded
def eval_wic(
    tune: Annotated[Path, typer.Argument(
        parser=named_path("tuning file or folder"),
        help="WiC folder (every *.data.txt with a *.gold.txt) or one file to tune on.")],
    test: Annotated[Path, typer.Argument(
        parser=named_path("test file or folder"), help="WiC folder or file to measure accuracy on.")],
    model: ModelOption = None,
    layers: LayersOption = None,
    combine: CombineOption = None,
    pooling: PoolingOption = None,
    device: DeviceOption = None,
    json_: JsonOption = False,
) -> None:
    """Word-in-Context accuracy: same meaning when the two usages' cosine reaches a threshold tuned on TUNE.

    \b
    Example: sensesearch eval wic ../shared/data/wic/train.data.txt ../shared/data/wic/dev.data.txt --json
    """
    tune_pairs, test_pairs = sensesearch.read_wic(tune), sensesearch.read_wic(test)
    settings = encoder_settings(model, layers, combine, pooling)  # a layer the model lacks: refused before the wait
    with CommandProgress(err) as progress:
        progress.phase(f"loading the model, then encoding {plural(2 * (len(tune_pairs) + len(test_pairs)), 'usage')}")
        report = sensesearch.evaluate_wic(tune_pairs, test_pairs, settings, device=device)
    if json_:
        emit_json(report.to_dict())
        return
    out.print(f"accuracy {report.accuracy:.2f} on {report.n} pairs, threshold {report.threshold:.4f} "
              f"(tuning accuracy {report.tune_accuracy:.2f} on {report.n_tune} pairs; {report.seconds:.0f} s)")


USAGE_SENSE_FIELDS = ["sense", *sensesearch.LISTING_FIELDS]
"""`senses --csv` without --by: one row per usage, in the columns of `usages --csv` (start and end: code points
into the sentence), its sense group first."""


@app.command()
@guarded
def senses(
    word: Annotated[str, typer.Argument(help="The word whose usages to group into senses.")],
    index: IndexOption = Path(DEFAULT_INDEX),
    k: Annotated[Optional[int], typer.Option("-k", "--k", min=1, help="Number of senses [default: chosen by silhouette over 2..8].")] = None,
    examples: Annotated[int, typer.Option(min=0, help="Usages nearest each sense's centre to show.")] = 5,
    document: DocumentOption = None,
    plot: PlotOption = None,
    seed: Annotated[int, typer.Option(min=0, max=SEED_MAX, help="Seed of the clustering and sampling.")] = 0,
    json_: JsonOption = False,
    lemma: LemmaOption = False,
    where: WhereOption = None,
    by: ByOption = None,
    bin_width: BinWidthOption = None,
    chart: ChartOption = None,
    csv_: CsvOption = False,
) -> None:
    """Group a word's usages into senses, each with its size, typical usages and distinctive context words.

    \b
    Example: sensesearch senses bank --index indexes/demo --plot bank.png

    \b
    Example: sensesearch senses bank --by document --index indexes/demo
    """
    if chart not in (None, "area", "bars"):
        raise typer.BadParameter(f"area or bars, not {chart!r}", param_hint="--chart")
    if bin_width is not None and by is None:  # it had been ignored, silently
        raise typer.BadParameter("bins are made of a --by field: give --by too", param_hint="--bin-width")
    if chart is not None and (by is None or plot is None):  # ignored too: only a chart of bins has a kind
        raise typer.BadParameter("it is the kind of a chart of --by bins: give --by and --plot too",
                                 param_hint="--chart")
    with sensesearch.SenseIndex.open(index, read_only=True) as source, CommandProgress(err, log_lines=False) as progress:
        progress.phase(f"grouping the usages of {word!r}")
        report = source.senses(word, k=k, examples=examples, documents=document, seed=seed, lemma=lemma,
                               where=where or ())
        timeline = sensesearch.sense_timeline(source, report, by, bin_width) if by else None
    if timeline is not None:
        if plot is not None:
            sensesearch.plot_timeline(timeline, plot, kind=chart or "area")
        if json_:
            emit_json({**report.to_dict(), "by": timeline.to_dict()})
        else:
            print_timeline(timeline, out, csv_)
        if plot is not None:
            err.print(f"Chart written to {plot}")
        return
    plot_error = ""
    if plot is not None:
        try:
            sensesearch.plot_senses(report, plot)
        except OSError as exc:
            # The report is still printed: a plot that cannot be written must not lose it.
            plot_error = f"cannot write the plot to {plot}: {exc.strerror or exc}"
    if json_:
        emit_json(report.to_dict())
    elif csv_:
        sys.stdout.write(sensesearch.records_to_csv(
            [{"sense": a.sense, "document": a.document, **sensesearch.context_cells(a.sentence, a.start, a.end),
              "sentence": a.sentence, "start": a.start, "end": a.end, "occurrence_id": a.occurrence_id,
              "path": a.path}
             for a in report.assignments], USAGE_SENSE_FIELDS))
    else:
        _print_senses(report)
    if plot_error:
        fail(plot_error)
    if plot is not None:
        err.print(f"Plot written to {plot}")


def _print_senses(report: sensesearch.SenseReport) -> None:
    out.print(Text.assemble((report.word, "bold"), f": {plural(report.n_usages, 'usage')} in "
                            f"{plural(len(report.senses), 'sense')}. {report.method}"))
    for group in report.senses:
        share = 100.0 * group.size / max(report.n_usages, 1)
        out.print(Text.assemble("\n", (f"sense {group.sense}", "bold"), f"  {plural(group.size, 'usage')} ({share:.0f}%)  "
                                f"keywords: {', '.join(group.keywords) or '-'}"))
        if group.examples:
            sensesearch.render_kwic(group.examples, out)
