"""Context words that set one group of usages apart from the others (weighted log-odds, Monroe et al. 2008)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import regex
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .normalize import fold_text
from .query import normalize_form
from .records import Hit

CONTEXT_WORDS = 10
PRIOR_WEIGHT = 0.1
_LETTERS = regex.compile(r"\p{L}[\p{L}\p{M}]*(?:['’]\p{L}[\p{L}\p{M}]*)?")
"""A context word: letters with their combining marks (a vowel sign, a harakat, an accent), so "मैं" or "كَتَبَ" are
one word, not cut at each mark."""


def context_words(hit: Hit, window: int = CONTEXT_WORDS) -> set[str]:
    """Distinct content words within `window` words either side of the usage (stopwords, the word itself out)."""
    # Folded first, so that a combining accent or a soft hyphen does not cut a word in two.
    left = _LETTERS.findall(fold_text(hit.left))[-window:]
    right = _LETTERS.findall(fold_text(hit.right))[:window]
    target = normalize_form(hit.word)
    return {w for w in (normalize_form(t) for t in left + right)
            if len(w) > 1 and w != target and w not in ENGLISH_STOP_WORDS and not w.startswith(target + "'")}


def distinctive_words(groups: Sequence[Sequence[set[str]]], top: int = 5, min_count: int = 2) -> list[list[str]]:
    """For each group of usages (each a set of context words), the words most over-represented in it.

    Each word is scored by the z-score of its log-odds ratio in the group against all other groups,
    with an informative Dirichlet prior from the pooled counts, so rare words do not win by chance.
    """
    counts = [Counter(w for usage in group for w in usage) for group in groups]
    pooled: Counter[str] = Counter()
    for c in counts:
        pooled.update(c)
    pooled_total = sum(pooled.values())
    if pooled_total == 0:
        return [[] for _ in groups]
    if len(groups) == 1:
        return [[w for w, n in sorted(pooled.items(), key=lambda p: (-p[1], p[0]))[:top] if n >= min_count]]
    alpha_total = PRIOR_WEIGHT * pooled_total
    result: list[list[str]] = []
    for group, c in zip(groups, counts):
        own_total = sum(c.values())
        rest_total = pooled_total - own_total
        scored = []
        for word, own in c.items():
            # A word that is every context word there is tells no group apart, and its odds against the other words
            # divide by zero (two usages of a word sharing one context word had failed as "math domain error").
            if own < min(min_count, len(group)) or pooled[word] == pooled_total:
                continue
            rest = pooled[word] - own
            alpha = alpha_total * pooled[word] / pooled_total
            delta = (math.log((own + alpha) / (own_total + alpha_total - own - alpha))
                     - math.log((rest + alpha) / (rest_total + alpha_total - rest - alpha)))
            scored.append((delta / math.sqrt(1 / (own + alpha) + 1 / (rest + alpha)), word))
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        result.append([word for z, word in scored[:top] if z > 0])
    return result
