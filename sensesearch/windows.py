"""Cover long sentences with overlapping model windows and give each word its best window."""

from __future__ import annotations


def plan_windows(n_pieces: int, width: int, overlap: int) -> list[tuple[int, int]]:
    """Half-open piece ranges of at most `width` pieces, consecutive ones sharing `overlap` pieces."""
    if n_pieces <= width:
        return [(0, n_pieces)]
    step = max(1, width - min(overlap, width - 1))
    windows = []
    start = 0
    while True:
        end = min(start + width, n_pieces)
        windows.append((start, end))
        if end == n_pieces:
            return windows
        start += step


def best_window(first: int, last: int, windows: list[tuple[int, int]]) -> int:
    """Index of the window holding piece `first` in which the word [first, last] has most context on both sides.

    A word longer than any window (a pathological run of pieces) takes the window that holds its first
    piece and the most of the rest; callers use only the pieces inside it.
    """
    best, best_margin = -1, None
    for i, (start, end) in enumerate(windows):
        if not start <= first < end:
            continue
        margin = (min(first - start, end - 1 - last), min(last, end - 1))
        if best_margin is None or margin > best_margin:
            best, best_margin = i, margin
    return best
