"""Fonts of the PNG charts (Chinese, Japanese and Korean words drawn with an installed CJK font, not as boxes), and
the one place a chart is written (save_png).

matplotlib's default font (DejaVu Sans) has no CJK glyphs. Since matplotlib 3.6 a list of families in
`font.family` is a fallback chain, glyph by glyph, so the charts list DejaVu Sans first and then every
CJK family found among the installed fonts (only those: a listed family that is missing costs a log line).
Where no font has a glyph, matplotlib warns on every chart; that is said once per process instead.
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from .errors import InputError

log = logging.getLogger(__name__)

BASE_FAMILY = "DejaVu Sans"
# Common CJK families of Linux distributions (Noto/Source Han, WenQuanYi, Droid, IPA, UnDotum), macOS and Windows.
CJK_FAMILIES = (
    "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR", "Source Han Sans",
    "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Droid Sans Fallback", "IPAGothic",
    "IPAexGothic", "UnDotum", "Hiragino Sans", "PingFang SC", "Apple SD Gothic Neo", "Arial Unicode MS",
    "Microsoft YaHei", "SimHei", "Yu Gothic", "Malgun Gothic",
)
MISSING_GLYPH = r"Glyph \d+ .*missing from font"


def chart_families(installed: Iterable[str]) -> list[str]:
    """The `font.family` fallback chain of the charts: DejaVu Sans, then the CJK families among `installed`."""
    present = set(installed)
    return [BASE_FAMILY, *(family for family in CJK_FAMILIES if family in present)]


@functools.cache
def _installed_chain() -> tuple[str, ...]:
    from matplotlib import font_manager

    return tuple(chart_families(font.name for font in font_manager.fontManager.ttflist))


@functools.cache
def _say_glyphs_missing() -> None:
    log.warning("a chart holds characters that no installed font has, drawn as boxes; a font such as Noto Sans "
                "CJK (Debian and Ubuntu: fonts-noto-cjk) draws Chinese, Japanese and Korean")


@contextmanager
def chart_fonts() -> Iterator[None]:
    """Make and save a matplotlib figure inside this: its text falls back to installed CJK fonts.

    matplotlib's settings and Python's warning filters are process-wide, so callers in threads take turns.
    """
    import matplotlib

    with matplotlib.rc_context({"font.family": list(_installed_chain())}), \
            warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", message=MISSING_GLYPH, category=UserWarning)
        yield
    for warning in caught:
        if warning.category is UserWarning and re.match(MISSING_GLYPH, str(warning.message)):
            _say_glyphs_missing()
        else:  # not ours to silence
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def save_png(figure: Any, target: str | Path | BinaryIO) -> None:
    """`figure` as a PNG to a file name or a binary stream; InputError (one line) where the file cannot be written
    (a missing folder, no permission), which came out of the API as matplotlib's FileNotFoundError."""
    try:
        figure.savefig(target, format="png")
    except OSError as exc:
        raise InputError(f"cannot write the chart to {target}: {exc.strerror or exc}") from None
