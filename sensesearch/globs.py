"""Shell-style globs (* ? [..] [!..]) for the two databases: SQLite's GLOB syntax, and an anchored regular expression.

Both read a class the way SQLite's GLOB reads it (its matchSet), so a glob matches the same strings on SQLite and
PostgreSQL: SQLite negates with ^ only and finds nothing for a [ that no ] closes, PostgreSQL's regular
expressions refuse a reversed range and read [:alpha:] as a POSIX class. Used by `--where` (sensesearch.filters).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

GLOB_CHARS = re.compile(r"[*?\[]")
"""The characters that make a value a glob."""


def _glob_parts(pattern: str) -> Iterator[tuple[str, str]]:
    """The shell-style glob as (kind, text) parts: ("*", ""), ("?", ""), ("class", body with ^ for negation)
    or ("char", one literal character). As in the shell, a "]" right after "[" (or "[!") belongs to the class,
    and a "[" that no "]" closes is a plain character."""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        close = pattern.find("]", i + 3 if pattern[i + 1:i + 2] in ("!", "^") else i + 2) if ch == "[" else -1
        if ch in "*?":
            yield ch, ""
        elif close != -1:
            body = pattern[i + 1:close]
            yield "class", "^" + body[1:] if body.startswith("!") else body
            i = close
        else:
            yield "char", ch
        i += 1


def split_alternatives(value: str) -> list[str]:
    """`a|b|c` as its alternatives; a "|" inside a glob class is the character itself, so `a[|]b.txt` names the file
    a|b.txt, which no other spelling can (classes read as _glob_parts reads them), and so is one inside an
    alternative written as a JSON string (`"a|b"|c` is two: conditions.term_text reads such a string as its text)."""
    alternatives, start, i = [], 0, 0
    while i < len(value):
        if value[i] == '"' and i == start:
            try:
                i = json.JSONDecoder().raw_decode(value, i)[1]
                continue
            except ValueError:
                pass  # not one JSON string: conditions.term_kind says so, naming the quoting
        if value[i] == "[":
            close = value.find("]", i + 3 if value[i + 1:i + 2] in ("!", "^") else i + 2)
            if close != -1:
                i = close + 1
                continue
        if value[i] == "|":
            alternatives.append(value[start:i])
            start = i + 1
        i += 1
    return [*alternatives, value[start:]]


def glob_literal(text: str) -> str:
    """A glob that matches `text` alone: each * ? [ in it a class of that one character, as SQLite's GLOB and
    _glob_parts read `[*]`."""
    return GLOB_CHARS.sub(lambda found: f"[{found.group()}]", text)


def glob_to_regex(pattern: str, atomic: bool = False) -> str:
    """An anchored regular expression (POSIX and Python alike) matching what the glob `pattern` matches, classes
    read as SQLite's GLOB reads them (_class_ranges), so the two databases agree.

    `atomic`, for a backtracking engine (Python's re, which runs SQLite's REGEXP): each part between two stars is
    taken at its leftmost place and kept there (an atomic group, Python 3.11), which is where a glob's parts of
    fixed length can always be taken, so a match costs the text's length times the pattern's, where `.*` after
    `.*` backtracked without bound (`***********Z|Q*` against a file name took 20 s, one star more four times
    that). PostgreSQL's engine does not backtrack and takes the plain form.
    """
    pieces = {"*": lambda _: ".*", "?": lambda _: ".", "char": re.escape, "class": _class_regex}
    segments: list[list[str]] = [[]]
    for kind, text in _glob_parts(pattern):
        if kind == "*":
            segments.append([])
        else:
            segments[-1].append(pieces[kind](text))
    body = ["".join(segment) for segment in segments]
    middle = [part for part in body[1:-1] if part]  # a run of stars is one star
    inner = "".join(f"(?>.*?{part})" for part in middle) if atomic else "".join(f".*{part}" for part in middle)
    expression = body[0] if len(body) == 1 else f"{body[0]}{inner}.*{body[-1]}"
    # Python's . and $ would stop at a newline, which a file name may hold and SQLite's GLOB matches.
    return f"(?s:^{expression}\\Z)" if atomic else f"^{expression}$"


def _class_regex(body: str) -> str:
    negate = body.startswith("^")
    members = "".join(_class_char(low) if low == high else f"{_class_char(low)}-{_class_char(high)}"
                      for low, high in _class_ranges(body[1:] if negate else body))
    return "[" + ("^" if negate else "") + members + "]"


def _class_char(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[" else ch


def _class_ranges(body: str) -> list[tuple[str, str]]:
    """A glob class's members as (low, high) ranges, read as SQLite's GLOB reads them: a leading "]" is a
    member; "-" between a member and a following character makes a range, empty when reversed (its first
    end stays a member); any other "-" is itself. Nothing is a POSIX class ([:alpha:] is five members)."""
    ranges: list[tuple[str, str]] = []
    prior, i = None, 0
    if body.startswith("]"):
        ranges.append(("]", "]"))
        i = 1
    while i < len(body):
        ch = body[i]
        if ch == "-" and prior is not None and i + 1 < len(body):
            if prior <= body[i + 1]:
                ranges.append((prior, body[i + 1]))
            prior, i = None, i + 2
            continue
        ranges.append((ch, ch))
        prior, i = ch, i + 1
    return ranges


def glob_to_sqlite(pattern: str) -> str:
    """The glob `pattern` in SQLite's GLOB syntax, which negates a class with ^ only (a [! class matched the
    opposite of what was asked) and finds nothing for a [ that no ] closes (the shell takes it as itself)."""
    pieces = {"*": lambda _: "*", "?": lambda _: "?", "class": lambda body: f"[{body}]",
              "char": lambda ch: f"[{ch}]" if ch in "*?[" else ch}
    return "".join(pieces[kind](text) for kind, text in _glob_parts(pattern))
