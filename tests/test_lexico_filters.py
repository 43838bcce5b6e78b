"""--where conditions (issue 14 item 2): parsing, SQL over document metadata and paths, search within subcorpora."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sensesearch import QueryError, SenseIndex, UsageError, WordNotFoundError
from sensesearch.config import EncoderSettings
from sensesearch.conditions import Condition, parse_condition, parse_conditions
from sensesearch.globs import glob_to_regex

RECORDS = [
    {"id": "a", "year": 1850, "party": "Whig", "date": "1850-03-01", "text": "The bank failed in the panic."},
    {"id": "b", "year": 1901, "party": "Republican", "date": "1901-12-03", "text": "The bank lent money to farmers."},
    {"id": "c", "year": "1933", "party": "Democratic", "date": "1933-03-04", "urgent": True,
     "text": "Every bank closed for a holiday."},
    {"id": "d", "year": 1961.5, "party": "Democratic", "date": "1961-01-30", "urgent": False,
     "text": "The bank of the river flooded."},
    {"id": "e", "party": "Democratic Farmer", "text": "A bank robbery, with no year."},
]


@pytest.fixture
def meta_index(tmp_path: Path, fake_settings: EncoderSettings, db_url: str | None) -> Path:
    """The corpus in an index on each metadata back end (SQLite; PostgreSQL where a test server is set)."""
    corpus = tmp_path / "corpus" / "speeches"
    corpus.mkdir(parents=True)
    (corpus / "records.jsonl").write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n")
    (corpus / "1950-Truman.txt").write_text("The bank of England.\n")
    (corpus / "2001-Bush.txt").write_text("A bank in Texas.\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        index.add([tmp_path / "corpus"])
    return tmp_path / "idx"


def _documents(index: SenseIndex, *where: str) -> list[str]:
    return [h.document for h in index.usages("bank", where=list(where))]


@pytest.mark.parametrize(("where", "expected"), [
    (["year>=1900"], ["b", "c", "d"]),                 # a numeric string ("1933") counts as a number
    (["year>=1900", "year<1950"], ["b", "c"]),
    (["year=1901"], ["b"]),
    (["year!=1901"], ["a", "c", "d"]),                  # e has no year: it matches no condition on year
    (["party=Democratic"], ["c", "d"]),                 # exact, not a prefix
    (["party=Democratic*"], ["c", "d", "e"]),
    (["party=Whig|Republican"], ["a", "b"]),
    (["party!=Democratic"], ["a", "b", "e"]),
    (["date>=1901-12-03"], ["b", "c", "d"]),
    (["date<1933-03"], ["a", "b"]),
    # A date names a period: <= and > compare with its end. A bare year is a date too, as the README says.
    (["date<=1933-03"], ["a", "b", "c"]),
    (["date>1933-03"], ["d"]),
    (["date>=1933"], ["c", "d"]),
    (["date<1933"], ["a", "b"]),
    (["date<=1933"], ["a", "b", "c"]),
    (["date>1933"], ["d"]),
    (["date=1933"], ["c"]),
    (["date=1850|1961"], ["a", "d"]),
    (["date=1933-03|1850-03-01"], ["a", "c"]),
    (["date!=1933"], ["a", "b", "d"]),                  # e has no date
    (["urgent=true"], ["c"]),
    (["urgent=false"], ["d"]),
    (["document=c|e"], ["c", "e"]),
    (["party=Democratic", "year>1950"], ["d"]),
])
def test_metadata_conditions_choose_the_right_documents(meta_index: Path, where: list[str], expected: list[str]) -> None:
    with SenseIndex.open(meta_index, read_only=True) as index:
        found = [d for d in _documents(index, *where) if d in "abcde"]
    assert found == expected


def test_path_globs_match_the_given_path_and_the_tail_of_the_absolute_one(meta_index: Path) -> None:
    with SenseIndex.open(meta_index, read_only=True) as index:
        given = sorted(h.document.rsplit("/", 1)[-1] for h in index.usages("bank", where=["path=*/speeches/19*"]))
        tail = sorted(h.document.rsplit("/", 1)[-1] for h in index.usages("bank", where=["path=speeches/2*.txt"]))
        jsonl = len(index.usages("bank", where=["path=corpus/speeches/*.jsonl"]))
        absolute = len(index.usages("bank", where=[f"path={meta_index.parent.resolve()}/corpus/speeches/*.txt"]))
        none = index.usages("bank", where=["path!=*.jsonl"])
    assert given == ["1950-Truman.txt"] and tail == ["2001-Bush.txt"] and jsonl == 5 and absolute == 2
    assert len(none) == 2


def test_filters_reach_query_senses_and_any_word_search(meta_index: Path) -> None:
    with SenseIndex.open(meta_index, read_only=True) as index:
        hits = index.query("the [[bank]] of the river", k=10, where=["party=Democratic"])
        anywhere = index.query("the [[bank]] of the river", k=50, any_word=True, where=["year<1900"])
        report = index.senses("bank", k=2, where=["year>=1900"])
    assert sorted(h.document for h in hits) == ["c", "d"]
    assert {h.document for h in anywhere} == {"a"} and len(anywhere) == 6
    assert report.n_usages == 3


def test_nothing_matching_says_which_conditions(meta_index: Path) -> None:
    with SenseIndex.open(meta_index, read_only=True) as index, \
            pytest.raises(WordNotFoundError, match="where year>=3000 and party=Whig"):
        index.usages("bank", where=["year>=3000", "party=Whig"])


@pytest.mark.parametrize(("where", "why"), [
    (["yaer>=1900"], "(no indexed document has the field 'yaer'; documents have the fields date, party, urgent, year)"),
    (["yaer>=1900", "party=Whig", "meta.Party=Whig", "yaer<5"],
     "(no indexed document has the fields 'yaer', 'meta.Party'; documents have the fields date, party, urgent, year)"),
    # Every field is there: no document meets them together.
    (["year>=3000", "meta.party=Whig", "path=*.txt"], "(no indexed document meets it)"),
])
def test_a_field_no_document_has_is_named_with_the_fields_there_are(meta_index: Path, where: list[str],
                                                                    why: str) -> None:
    """`--where yaer>=1900` (a misspelt field) said only "no indexed document meets it", as if no year were high
    enough. On both back ends: each reads the keys of the stored JSON its own way."""
    with SenseIndex.open(meta_index, read_only=True) as index:
        assert index.store.metadata_fields() == ["date", "party", "urgent", "year"]
        with pytest.raises(WordNotFoundError) as raised:
            index.usages("bank", where=where)
        # A search of every word's usages said "no document in the index meets where yaer>=1900", no more.
        with pytest.raises(WordNotFoundError) as anyword:
            index.query("the [[bank]] of the river", k=5, any_word=True, where=where)
    assert why in str(raised.value) and not raised.value.any_word_helps
    assert str(anyword.value) == f"no usage of any word where {' and '.join(where)} {why}"


def test_a_field_is_named_so_even_where_no_document_has_metadata(tmp_path: Path,
                                                                 fake_settings: EncoderSettings) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text("The bank rose.\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([tmp_path / "c"])
        assert index.store.metadata_fields() == []
        with pytest.raises(WordNotFoundError, match="no indexed document has the field 'year'; no document has "
                                                    "metadata fields: JSONL fields and metadata.csv sidecars"):
            index.usages("bank", where=["year>1"])
        with pytest.raises(WordNotFoundError, match=r"\(no indexed document meets it\)"):
            index.usages("bank", where=["path=*.jsonl"])


def test_the_fields_there_are_are_named_as_a_condition_reaches_them(tmp_path: Path,
                                                                     fake_settings: EncoderSettings) -> None:
    """The list of fields named a record's own `path` and `meta.x` bare: `path=...` reads the document's path, and
    `meta.x` the field x, the very name the message had just called missing. And 3,000 fields made a 36 kB line."""
    (tmp_path / "c").mkdir()
    records = [{"id": "k", "text": "The bank rose.", "path": "p", "meta.x": 7}]
    (tmp_path / "c" / "k.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([tmp_path / "c"])
        with pytest.raises(WordNotFoundError, match=r"has the field 'meta\.x'; documents have the fields meta\.meta\.x, "
                                                    r"meta\.path\)"):
            index.usages("bank", where=["meta.x=7"])
        assert [h.document for h in index.usages("bank", where=["meta.meta.x=7", "meta.path=p"])] == ["k"]
        many = [{"id": f"m{i}", "text": "A bank fell.", f"f{i:04d}": i} for i in range(3000)]
        (tmp_path / "c" / "many.jsonl").write_text("\n".join(json.dumps(r) for r in many) + "\n")
        index.add([tmp_path / "c"])
        with pytest.raises(WordNotFoundError) as raised:
            index.usages("bank", where=["yaer>1"])
    assert "documents have 3,002 fields, among them f0000, f0001," in str(raised.value)
    assert "f0020" not in str(raised.value) and len(str(raised.value)) < 500


@pytest.mark.parametrize("text", ["year", ">=1900", "year>=", "path<a", "urgent>true", "=x"])
def test_unreadable_conditions_are_usage_errors(text: str) -> None:
    with pytest.raises(QueryError):
        parse_condition(text)


def test_parse_keeps_field_op_value_and_kind() -> None:
    assert parse_condition(" year >= 1900 ") == Condition("year", ">=", "1900")
    # Text values made of marks are values for = and != (only a comparison with nothing after it is a typo).
    assert (parse_condition("mark=!"), parse_condition("tag!=<")) == (Condition("mark", "=", "!"),
                                                                      Condition("tag", "!=", "<"))
    assert parse_condition("party==Democratic").op == "="
    assert parse_condition("path=corpora/state_union/19*").kind == "glob"
    assert parse_condition("date<1945-06").kind == "date"
    assert parse_condition("meta.path=x").field == "meta.path"


def test_glob_to_regex_anchors_and_escapes() -> None:
    import re

    regex = re.compile(glob_to_regex("corpora/su/19[4-5]?-*.txt"))
    assert regex.match("corpora/su/1945-Truman.txt")
    assert not regex.match("corpora/su/1965-Johnson.txt") and not regex.match("corpora/su/1945-Truman.txtx")
    assert re.compile(glob_to_regex("a[!b]c")).match("axc") and not re.compile(glob_to_regex("a[!b]c")).match("abc")


@pytest.mark.parametrize("atomic", [False, True])
def test_glob_to_regex_matches_what_a_glob_matches(atomic: bool) -> None:
    """Each form against fnmatch on random globs and texts, newlines included (a file name may hold one)."""
    import fnmatch
    import random
    import re

    rng = random.Random(0)
    for _ in range(5000):
        pattern = "".join(rng.choice("ab*?") for _ in range(rng.randint(0, 7)))
        text = "".join(rng.choice("ab\n" if atomic else "ab") for _ in range(rng.randint(0, 8)))
        assert bool(re.search(glob_to_regex(pattern, atomic), text)) == fnmatch.fnmatchcase(text, pattern), (pattern,
                                                                                                            text)


def test_a_glob_of_many_stars_takes_no_time(meta_index: Path) -> None:
    """`document=***********Z|Q*` (two globs: one Python regular expression on SQLite) took 20 s per label, one star
    more four times that, under the lock every other request of the server waits for."""
    import time

    with SenseIndex.open(meta_index, read_only=True) as index:
        started = time.perf_counter()
        with pytest.raises(WordNotFoundError, match="no indexed document meets it"):
            _documents(index, "document=" + "*" * 250 + "Z|" + "*a" * 120 + "*Z")
        assert _documents(index, "document=" + "*" * 250 + "c|" + "?" * 400 + "*") == ["c"]
        assert time.perf_counter() - started < 5


def test_metadata_fields_named_in_any_script_can_be_filtered(tmp_path: Path, fake_settings: EncoderSettings,
                                                             db_url: str | None) -> None:
    """SQLite keeps a non-ASCII key as json.dumps spelt it (\\u00e9) and, before 3.45, matched a path against that
    spelling: `--where année=1900` found nothing, silently."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    records = [{"id": "a", "text": "The bank rose.", "année": 1900, "région": "Île", "年": "明治"},
               {"id": "b", "text": "The bank fell.", "année": 1950, "région": "Nord", "年": "昭和"}]
    (corpus / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        index.add([corpus])
        for where, expected in ((["année=1900"], ["The bank rose."]), (["année>1920"], ["The bank fell."]),
                                (["région=Î*"], ["The bank rose."]), (["年=昭和"], ["The bank fell."]),
                                (["région!=Nord", "année<2000"], ["The bank rose."])):
            assert [h.sentence for h in index.usages("bank", where=where)] == expected, where
        assert index.store.metadata_fields() == ["année", "région", "年"]


def test_metadata_fields_named_with_quotes_and_backslashes_can_be_filtered(tmp_path: Path,
                                                                          fake_settings: EncoderSettings,
                                                                          db_url: str | None) -> None:
    """No JSON path of SQLite before 3.45 can name a key holding a double quote: `--where 'say "hi"=yes'`
    matched nothing, silently. Keys with backslashes, dots, brackets and quotes of the other kind ride along."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    records = [{"id": "a", "text": "The bank rose.", 'say "hi"': "yes", "a\\b": 1, "x.y": "p", "it's": True,
                '"é"': "é"},
               {"id": "b", "text": "The bank fell.", 'say "hi"': "no", "a\\b": 2, "x.y": "q", "it's": False,
                '"é"': "e", "a[0]": "z"}]
    (corpus / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        index.add([corpus])
        for where, expected in ((['say "hi"=yes'], ["The bank rose."]), (['say "hi"!=yes'], ["The bank fell."]),
                                (['say "hi"=n*'], ["The bank fell."]), (["a\\b>1"], ["The bank fell."]),
                                (["x.y=p"], ["The bank rose."]), (["it's=false"], ["The bank fell."]),
                                # A field in double quotes is a JSON string: a key that starts with one is quoted.
                                (['"\\"é\\""=é'], ["The bank rose."]), (["a[0]=z"], ["The bank fell."]),
                                (['say "hi"=yes|no', "a\\b<=2"], ["The bank rose.", "The bank fell."])):
            assert sorted(h.sentence for h in index.usages("bank", where=where)) == sorted(expected), where
        with pytest.raises(WordNotFoundError):
            index.usages("bank", where=['say "hi"=maybe'])
        assert index.store.metadata_fields() == ['"é"', "a[0]", "a\\b", "it's", 'say "hi"', "x.y"]


def _records_where(tmp_path: Path, settings: EncoderSettings, db_url: str | None, values: dict[str, Any],
                   where: str) -> str:
    """The ids, sorted and joined, of the records (id -> their field k's value) whose usage of bank meets `where`."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "r.jsonl").write_text("".join(json.dumps({"id": name, "text": f"The bank {name}.", "k": value}) + "\n"
                                            for name, value in values.items()))
    with SenseIndex.create(tmp_path / "idx", settings=settings, db_url=db_url) as index:
        index.add([corpus])
        try:
            return "".join(sorted(h.document for h in index.usages("bank", where=[where], limit=100)))
        except WordNotFoundError:
            return ""


VALUE_RECORDS = {"a": "5e", "b": "1E+5", "c": "\t5", "d": "1.2.3", "e": "+-1", "f": True, "g": False, "h": "true",
                 "i": 5, "j": None, "l": {"a": 1}, "m": "1e400", "n": "a[b", "o": "!", "p": "z", "q": "-", "r": "]",
                 "s": "1e99999", "t": "0." + "0" * 17_000 + "1"}


@pytest.mark.parametrize(("where", "expected"), [
    ("k=5", "ci"), ("k=100000", "b"), ("k=1.2", ""), ("k=0", ""), ("k<1", ""), ("k>1", "bcim"),
    ("k=true", "f"), ("k=false", "g"), ("k=true|false", "fg"), ("k!=true", "abcdeghijlmnopqrst"),
    ("k=*", "abcdehmnopqrst"), ("k=?", "opqr"), ("k!=5", "abdefghjlmnopqrst"), ("k=a[b", "n"),
    ("k=[!a]*", "abcdehmopqrst"), ("k=[^a]*", "abcdehmopqrst"), ("k=[z-a]", "p"), ("k=[]-a]", "qr"),
    ("k=[[:alpha:]]", ""), ("k=1e99999", "s"), ("k=z|[!z]", "opqr"),
    ("document=[!a-c]", "defghijlmnopqrst"), ("document=a|b|[s-z]", "abst"),
    ("k=" + "|".join(f"v{n}" for n in range(1500)) + "|5", "ci"),
    ("k=" + "|".join(f"v{n}*" for n in range(1500)) + "|z", "p"),
])
def test_metadata_values_compare_by_their_json_type_alike_on_both_databases(
        tmp_path: Path, fake_settings: EncoderSettings, db_url: str | None, where: str, expected: str) -> None:
    """Found by helpers comparing SQLite, PostgreSQL and the documented semantics: SQLite took "5e" and "1.2.3" for
    numbers and missed "1E+5" and a tab before a number, and read [!a] as a class of "!" and "a"; PostgreSQL compared
    numbers, booleans and objects as text, matched the string "true" for true, dropped JSON null from !=, failed
    the whole query on "1e400" or a 17,000-digit fraction, and refused [z-a] and [[:alpha:]]; true|false ignored
    booleans on SQLite, and 1,500 alternatives were too deep for it."""
    assert _records_where(tmp_path, fake_settings, db_url, VALUE_RECORDS, where) == expected, where


BIG_IDS = {"a": 9007199254740993, "b": 9007199254740992, "c": "9007199254740993", "d": 1234567890123456789,
           "e": 1234567890123456788, "f": 2.5}


@pytest.mark.parametrize(("where", "expected"), [
    ("k=9007199254740993", "ac"), ("k=9007199254740992", "b"), ("k>9007199254740992", "acde"),
    ("k<=9007199254740992", "bf"), ("k=1234567890123456789", "d"), ("k!=1234567890123456789", "abcef"),
    ("k=1234567890123456788|2.5", "ef"), ("k>=1234567890123456789", "d"), ("k<3", "f"),
])
def test_whole_numbers_past_2_to_the_53_compare_exactly(tmp_path: Path, fake_settings: EncoderSettings,
                                                        db_url: str | None, where: str, expected: str) -> None:
    """SQLite had compared metadata numbers as floats, exact only to 2**53: id=9007199254740993 matched
    9007199254740992 too, and a 19-digit id (a post's on most social media) matched its neighbours."""
    assert _records_where(tmp_path, fake_settings, db_url, BIG_IDS, where) == expected, where


def test_a_bar_in_a_glob_class_names_itself(tmp_path: Path, fake_settings: EncoderSettings) -> None:
    """`a|b` means a or b, so a document named a|b could not be chosen at all: `[|]` (a glob class) is the bar."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a|b.txt").write_text("The bank of the river.\n")
    (corpus / "r.jsonl").write_text('{"id": "x|y", "text": "The bank lent money."}\n')
    (corpus / "b.txt").write_text("A bank.\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([corpus])
        assert _documents(index, "document=x[|]y") == ["x|y"]
        assert [Path(d).name for d in _documents(index, "path=*/a[|]b.txt")] == ["a|b.txt"]
        assert sorted(Path(d).name for d in _documents(index, "path=*/a|*/b.txt")) == ["b.txt"]
        assert _documents(index, "document!=x[|]y") and "x|y" not in _documents(index, "document!=x[|]y")


def test_text_values_labels_and_paths_match_in_either_unicode_form(tmp_path: Path, fake_settings: EncoderSettings,
                                                                     db_url: str | None) -> None:
    """Canonically equivalent spellings are one text: `--where 'auteur=Émile Zola'` typed (NFC) found nothing when
    the file held it decomposed (NFD, as macOS file names and many exports are), nor did `document=é3` or a path
    typed NFC for a file named in NFD, though `-d` finds them."""
    nfd, nfc = "E\u0301mile Zola", "\u00c9mile Zola"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    records = [{"id": "e\u03013", "text": "The bank rose.", "auteur": nfd, "ville": "Ni\u0301mes"},
               {"id": "b", "text": "The bank fell.", "auteur": nfc, "ville": "Lyon"},
               {"id": "c", "text": "The bank stood.", "auteur": "Emile Zola", "ville": "Paris"}]
    (corpus / "r.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    (corpus / "re\u0301sume\u0301.txt").write_text("A bank of snow.\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        index.add([corpus])
        for where, expected in (([f"auteur={nfc}"], ["e\u03013", "b"]), ([f"auteur={nfd}"], ["e\u03013", "b"]),
                                (["auteur=\u00c9mile*"], ["e\u03013", "b"]), (["auteur=E*"], ["c"]),
                                ([f"auteur!={nfc}"], ["c"]), (["ville=N\u00edmes|Lyon"], ["e\u03013", "b"]),
                                (["ville<N\u00edn"], ["e\u03013", "b"]), (["document=\u00e93"], ["e\u03013"]),
                                (["document=\u00e9?"], ["e\u03013"]), (["document!=\u00e93", "auteur=*Zola"],
                                                                         ["b", "c"])):
            assert sorted(_documents(index, *where)) == sorted(expected), where
        resume = [Path(d).name for d in _documents(index, "path=*/r\u00e9sum\u00e9.txt")]
        assert resume == ["re\u0301sume\u0301.txt"]
        assert [Path(d).name for d in _documents(index, "path=corpus/r\u00e9sum\u00e9.txt")] == resume


@pytest.mark.parametrize(("where", "expected"), [
    ("date>=1945-01", ["iso"]), ("date>1945-01-21", ["iso"]), ("date<1945-01", ["early", "year"]),
    ("date>=1945", ["iso", "year"]), ("date!=1945-01", ["dmy", "early", "iso", "unknown", "year"]),
])
def test_a_date_condition_never_compares_other_text_as_a_date(tmp_path: Path, fake_settings: EncoderSettings,
                                                               db_url: str | None, where: str,
                                                               expected: list[str]) -> None:
    """date>=1945-01 compared every string as text: "unknown" and "21/01/1945" sort after "1945-01", so both were
    kept, while date>=1945 (a year) left them out."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    dates = {"iso": "1950-03-01", "unknown": "unknown", "dmy": "21/01/1945", "year": "1945", "early": "1900-01-01"}
    (corpus / "d.jsonl").write_text("".join(json.dumps({"id": name, "text": "The bank was old.", "date": date}) + "\n"
                                            for name, date in dates.items()))
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        index.add([corpus])
        assert sorted(_documents(index, where)) == expected


def test_a_field_of_lists_or_objects_is_said_to_be_why_nothing_matched(tmp_path: Path,
                                                                       fake_settings: EncoderSettings) -> None:
    """`tags=x` on "tags": ["x", "y"] and `--by tags` found nothing, and said only that no document met it or how to
    give documents fields, though every document had the field."""
    from sensesearch.diachronic import sense_timeline

    (tmp_path / "c").mkdir()
    records = [{"id": "a", "text": "The bank rose.", "tags": ["x", "y"], "who": {"n": 1}, 'say "hi"': [1]},
               {"id": "b", "text": "The bank fell.", "tags": ["z"], "year": 1900}]
    (tmp_path / "c" / "r.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([tmp_path / "c"])
        assert index.store.nested_fields(["tags", "year", "who", 'say "hi"', "nope"]) == ["tags", "who", 'say "hi"']
        with pytest.raises(WordNotFoundError, match=r"\(no indexed document meets it; 'tags', 'meta\.who' hold lists "
                                                    r"or objects, which conditions do not read\)"):
            index.usages("bank", where=["tags=x", "meta.who=1"])
        with pytest.raises(WordNotFoundError, match=r"\(no indexed document meets it\)"):
            index.usages("bank", where=["year=5"])
        report = index.senses("bank", k=1)
        with pytest.raises(QueryError, match="value for 'tags'; 'tags' holds lists or objects, and only numbers"):
            sense_timeline(index, report, "tags")


@pytest.mark.parametrize(("where", "expected"), [
    (["party=Democratic;year>1950"], ["d"]),
    (["party=Democratic ; year>1950"], ["d"]),
    (["year>=1900;", "party=Republican"], ["b"]),       # a blank part (a trailing ;) is no condition
    ("year<1900;party=Whig|Republican", ["a"]),         # one string: a list of one, then parted
])
def test_a_semicolon_parts_conditions_as_the_web_page_does(meta_index: Path, where: list[str] | str,
                                                           expected: list[str]) -> None:
    """`year>=1900;party=Dem` had been one text comparison of year with "1900;party=Dem" on the CLI and in the API
    (matching the wrong documents, silently), while the page's where box parted it at `;`."""
    with SenseIndex.open(meta_index, read_only=True) as index:
        found = [h.document for h in index.usages("bank", where=where) if h.document in "abcde"]
    assert found == expected


def test_a_semicolon_in_a_value_is_escaped_and_a_stray_one_is_refused_naming_the_escape(tmp_path: Path,
                                                                                       fake_settings: EncoderSettings
                                                                                       ) -> None:
    records = [{"id": "a", "title": "War; and peace", "text": "The bank burned."},
               {"id": "b", "title": "War", "text": "The bank fell."}]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings) as index:
        index.add([tmp_path / "r.jsonl"])
        assert [h.document for h in index.usages("bank", where="title=War\\; and peace")] == ["a"]
        assert [h.document for h in index.usages("bank", where="title=War*\\;*")] == ["a"]
        with pytest.raises(QueryError, match=r"write \\; for a semicolon"):
            index.usages("bank", where="title=War; and peace")
        with pytest.raises(QueryError, match="2 conditions"):
            parse_condition("title=War; year>1")
    assert str(parse_condition("title=War\\; and peace")) == "title=War\\; and peace"  # reads back as typed
    assert parse_conditions("a=1; b>2") == (Condition("a", "=", "1"), Condition("b", ">", "2"))
    with pytest.raises(QueryError, match="at most 200"):
        parse_conditions(["year>1"] * 201)  # a database failure ("Expression tree is too large") at 1,000


def test_a_quoted_field_names_any_key_and_the_hint_lists_keys_as_a_condition_names_them(
        tmp_path: Path, fake_settings: EncoderSettings, db_url: str | None) -> None:
    """Keys no bare field can write (white space at an end, = ! < > ; in them, empty) were listed bare among the
    fields there are, in a form no condition could name: a JSON string names each, and the list quotes them so."""
    odd = {" pad ": "x", "a=b": "y", "c<d": "z", "": "e", "k;v": "w", "n!": "m", "p, q": "r"}
    records = [{"id": "a", "text": "The bank burned.", "year": 1900, **odd}, {"id": "b", "text": "The bank fell."}]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        index.add([tmp_path / "r.jsonl"])
        with pytest.raises(WordNotFoundError) as missing:
            index.usages("bank", where="yaer>1")
        # "p, q" bare among the fields listed had read as two fields, "p" and "q".
        assert str(missing.value).split("documents have the fields ", 1)[1].split(")", 1)[0] == (
            '" pad ", "", "a=b", "c<d", "k\\;v", "n!", "p, q", year')
        for condition in ('" pad "=x', '"a=b"=y', '"c<d"=z', '""=e', '"k\\;v"=w', '"n!"=m', '"p, q"=r', "year=1900"):
            assert [h.document for h in index.usages("bank", where=condition)] == ["a"], condition
        assert [h.document for h in index.usages("bank", where='"year">=1900; " pad "!=q')] == ["a"]
        with pytest.raises(QueryError, match="JSON string"):
            index.usages("bank", where='"a=b=y')
        with pytest.raises(QueryError, match=r"write \\; for a semicolon inside a value or a quoted field"):
            index.usages("bank", where='"k;v"=w')  # the hint had spoken of values only


@pytest.mark.parametrize(("args", "error"), [
    (("year", "~", "1900"), QueryError),       # a raw KeyError inside the SQL
    (("", "=", "x"), QueryError),
    (("path", "<", "x"), QueryError),          # matched nothing, silently: the parser refuses it
    (("year", ">", ""), QueryError),
    (("urgent", "<", "true"), QueryError),
    ((5, "=", "x"), UsageError),               # a raw AttributeError
    (("year", ">", 1900), UsageError),         # a raw TypeError
])
def test_a_condition_made_directly_is_checked_as_a_parsed_one(args: tuple[object, ...],
                                                             error: type[Exception]) -> None:
    with pytest.raises(error):
        Condition(*args)  # type: ignore[arg-type]
    assert Condition("year", "==", "1900") == parse_condition("year==1900") == Condition("year", "=", "1900")


@pytest.mark.parametrize(("where", "expected"), [
    ("year=" + "|".join(str(y) for y in range(1000, 3000)), ["a", "b", "c"]),  # "1933" is a number too
    ("year=" + "|".join(str(y) for y in range(1000, 3000) if y != 1901), ["a", "c"]),
    ("date=" + "|".join(f"{y}-{m:02d}" for y in range(1800, 2000) for m in (1, 3, 12)), ["a", "b", "c", "d"]),
    ("date!=" + "|".join(f"{y}-03" for y in range(1000, 3000)), ["b", "d"]),
    ("path=" + "|".join(f"speeches/{y}-*.txt" for y in range(1000, 2000)), ["1950-Truman.txt"]),
    ("path!=" + "|".join(f"x{i}/records.jsonl" for i in range(1500)) + "|speeches/records.jsonl",
     ["1950-Truman.txt", "2001-Bush.txt"]),
    # One regular expression of them all was "too complex" for PostgreSQL at some 900 paths of this length.
    ("path=" + "|".join(f"corpus/speeches/session-{i:05d}/transcript-final.txt" for i in range(2000))
     + "|speeches/2001-Bush.txt", ["2001-Bush.txt"]),
])
def test_long_lists_of_year_date_and_path_alternatives_are_one_condition_each(meta_index: Path, where: str,
                                                                              expected: list[str]) -> None:
    # Each year, date period or path alternative had been a term of its own in one OR, too deep for SQLite at some
    # 1,000 (150 paths): "the metadata database failed: Expression tree is too large", exit 1, not a usage error.
    with SenseIndex.open(meta_index, read_only=True) as index:
        found = sorted(h.document.rsplit("/", 1)[-1] for h in index.usages("bank", where=[where], limit=100))
    assert found == expected
