"""Senses across time or any field (issue 14 item 3): bins, shares per sense, the chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sensesearch import QueryError, SenseIndex, UsageError
from sensesearch.config import EncoderSettings
from sensesearch.diachronic import field_value, make_bins, plot_timeline, sense_timeline

MONEY = "The bank lent money to the farmers at a low rate of interest."
RIVER = "We had a picnic on the grassy bank of the river near the water."


@pytest.fixture
def shifting_index(tmp_path: Path, fake_settings: EncoderSettings, db_url: str | None) -> Path:
    """River senses early, money senses late; two records without a year (on each metadata back end)."""
    records = []
    for year in range(1900, 1960, 5):
        text = RIVER if year < 1930 else MONEY
        records += [{"id": f"{year}-{i}", "year": year, "party": "A" if i else "B", "text": text} for i in range(2)]
    records += [{"id": "undated", "text": MONEY}, {"id": "dated", "date": "1951-02-03", "text": MONEY}]
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        index.add([tmp_path / "c.jsonl"])
    return tmp_path / "idx"


def test_decade_bins_show_one_sense_giving_way_to_the_other(shifting_index: Path) -> None:
    with SenseIndex.open(shifting_index, read_only=True) as index:
        report = index.senses("bank", k=2)
        timeline = sense_timeline(index, report, "decade")
    assert [b.label for b in timeline.bins] == ["1900s", "1910s", "1920s", "1930s", "1940s", "1950s"]
    assert [b.usages for b in timeline.bins] == [4, 4, 4, 4, 4, 5]      # the "date" record counts in the 1950s
    assert timeline.missing == 1 and timeline.bin_width == 10
    early, late = timeline.bins[0].shares, timeline.bins[-1].shares
    assert sorted(early) == [0.0, 1.0] and sorted(late) == [0.0, 1.0] and early != late
    assert sum(timeline.bins[2].counts) == timeline.bins[2].usages
    rows = timeline.rows()
    assert set(rows[0]) == {"bin", "start", "end", "usages", "sense_1_usages", "sense_1_share",
                            "sense_2_usages", "sense_2_share"}


def test_year_bins_keep_empty_years_and_text_fields_get_one_bin_per_value(shifting_index: Path) -> None:
    with SenseIndex.open(shifting_index, read_only=True) as index:
        report = index.senses("bank", k=2)
        by_year = sense_timeline(index, report, "year")
        by_party = sense_timeline(index, report, "party")
    assert by_year.bins[0].label == "1900" and by_year.bins[-1].label == "1955" and len(by_year.bins) == 56
    assert by_year.bins[1].usages == 0 and by_year.bins[1].shares == (None, None)
    assert [(b.label, b.usages) for b in by_party.bins] == [("A", 12), ("B", 12)] and by_party.missing == 2


def test_documents_that_share_a_label_get_a_bin_each(tmp_path: Path, fake_settings: EncoderSettings,
                                                     db_url: str | None) -> None:
    """Record "r1" of a/x.jsonl and record "r1" of b/x.jsonl had been one bin "r1", 4 usages, without a word."""
    for folder, text in (("a", RIVER), ("b", MONEY)):
        (tmp_path / "c" / folder).mkdir(parents=True)
        (tmp_path / "c" / folder / "x.jsonl").write_text(json.dumps({"id": "r1", "text": f"{text} {text}"}) + "\n")
    (tmp_path / "c" / "solo.jsonl").write_text(json.dumps({"id": "r2", "text": MONEY}) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=fake_settings, db_url=db_url) as index:
        index.add([tmp_path / "c"])
        timeline = sense_timeline(index, index.senses("bank", k=2), "document")
    assert sorted((b.label, b.usages) for b in timeline.bins) == [("a/x.jsonl#r1", 2), ("b/x.jsonl#r1", 2),
                                                                   ("r2", 1)]


def test_numeric_fields_get_round_width_bins() -> None:
    bins, where, width = make_bins([0.5, 3, 17, 99.9, None], "score")
    assert width == 10 and bins[0] == ("0–10", 0, 10) and len(bins) == 10
    assert where == [0, 0, 1, 9, None]
    bins, where, width = make_bins([3, 1, 2, 3], "rating")
    assert [b[0] for b in bins] == ["1", "2", "3"] and where == [2, 0, 1, 2] and width == 1
    bins, _, width = make_bins([1945, 1951, 2006], "year", bin_width=25)
    assert [b[0] for b in bins] == ["1925–1950", "1950–1975", "1975–2000", "2000–2025"]
    with pytest.raises(QueryError):
        make_bins(["x", "y"], "party", bin_width=5)


def test_values_of_other_json_types_keep_bins_of_their_own_labelled_as_where_names_them() -> None:
    """JSON true and the text "True" shared the bin "True": `--where flag=true` tells them apart, and found neither by
    the label the table showed."""
    bins, where, _ = make_bins([True, "True", False, True, "x", 1], "flag")
    assert [b[0] for b in bins] == ["1", "True", "false", "true", "x"] and where == [3, 1, 2, 3, 4, 0]
    # JSON true and the text "true" had shared the bin "true", and 1.0 had a bin apart from 1 (k=1 finds both).
    bins, where, _ = make_bins([True, "true", 1, 1.0, "x", "null", None, 2.5], "flag")
    assert [b[0] for b in bins] == ['"null"', '"true"', "1", "2.5", "true", "x"] and where == [4, 1, 2, 2, 5, 0, None, 3]
    # Texts that differ only in white space at an end had labels that read alike; spelled as `documents` spells them,
    # they read apart.
    bins, where, _ = make_bins(["x", " x", "x\n", "War, and peace"], "title")
    assert [b[0] for b in bins] == ['" x"', '"War, and peace"', '"x\\n"', "x"] and where == [3, 0, 2, 1]
    # A zero-width space, NBSP or a line break inside had labels that read as another bin's (" x" and "\u00a0x" both
    # quoted, "xy" and "x\u200by" both bare): written as JSON's escapes, every label reads as its value.
    bins, where, _ = make_bins([" x", "\u00a0x", "xy", "x\u200by", "a\nb", ["\u00a0"]], "title")
    assert [b[0] for b in bins] == ['" x"', '"\\u00a0x"', '"a\\nb"', '"x\\u200by"', '["\\u00a0"]', "xy"]
    assert where == [0, 1, 5, 3, 2, 4]


def test_document_bins_are_labelled_by_the_names_as_listings_write_them() -> None:
    # Spelled as metadata values, a name holding a comma or a line break had been labelled in JSON's quotes.
    for by in ("document", "path"):
        bins, where, _ = make_bins(["c/a, b.txt", "c/a\nb.txt", "c/true", "c/a, b.txt"], by)
        assert [b[0] for b in bins] == ["c/a\nb.txt", "c/a, b.txt", "c/true"] and where == [1, 0, 2, 1]


@pytest.mark.parametrize("bin_width", [None, 0.1])
def test_decimal_values_fall_in_the_bin_their_digits_say(bin_width: float | None) -> None:
    """In binary 0.3 / 0.1 is 2.9999999999999996: 0.3 and 0.7 fell one bin low, and a bin started at
    0.30000000000000004 in the CSV."""
    bins, where, width = make_bins([0.1, 0.2, 0.3, 0.3, 0.6, 0.7, 0.7, 0.9, 1.0], "score", bin_width)
    assert width == 0.1 and where == [0, 1, 2, 2, 5, 6, 6, 8, 9]
    assert [b[1] for b in bins] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0] and bins[2][0] == "0.3–0.4"


@pytest.mark.parametrize("width", [float("nan"), float("inf"), 0.0, -1.0])
def test_a_bin_width_must_be_finite_and_above_zero(width: float) -> None:
    """nan passed the old `<= 0` test and made a "cuts year into 2**62 bins" error; the CLI and API share this check."""
    with pytest.raises(UsageError, match=f"the bin width must be a finite number above 0, not {width:g}"):
        make_bins([1990, 2000], "year", bin_width=width)


def test_bins_are_counted_before_they_are_made() -> None:
    """--bin-width 1e-9 over 1990-2000 made 10^10 bins: the command grew until the system killed it."""
    with pytest.raises(QueryError, match=r"10,000,000,001 bins; at most 1,000: choose a width of at least 0\.02"):
        make_bins([1990, 2000], "year", bin_width=1e-9)
    bins, _, width = make_bins([1990, 2000], "year", bin_width=0.02)
    assert len(bins) == 501 and width == 0.02
    bins, _, _ = make_bins([1.0, 5e307], "score", bin_width=1e308)  # had been labelled in 309 digits
    assert bins[0][0] == "0–1e+308"
    # Too small to count: the message had given the bound (4,611,686,018,427,387,904) as the count.
    with pytest.raises(QueryError, match=r"into countless bins; at most 1,000"):
        make_bins([-1e308, 1e308], "score", bin_width=1e-300)
    # Without a width, a year field spanning millennia is widened as any numeric field is, not cut by year.
    bins, _, width = make_bins([1, 2024, None], "year")
    assert width == 500 and len(bins) == 5


def test_decade_bins_of_another_width_are_labelled_as_ranges() -> None:
    """--by decade --bin-width 5 labelled its bins "1945s", "1950s", and a width of 20 "1940s" for 1940-1960."""
    assert [b[0] for b in make_bins([1945, 1987], "decade")[0]][:2] == ["1940s", "1950s"]
    assert [b[0] for b in make_bins([1945, 1987], "decade", 5)[0]][:2] == ["1945–1950", "1950–1955"]
    assert [b[0] for b in make_bins([1945, 1987], "decade", 20)[0]] == ["1940–1960", "1960–1980", "1980–2000"]


def test_year_comes_from_a_year_or_date_field() -> None:
    assert field_value({"year": "1945"}, "d", "year") == 1945
    assert field_value({"date": "1961-01-30"}, "d", "decade") == 1961
    assert field_value({"title": "x"}, "d", "year") is None
    assert field_value({"date": "1850s"}, "d", "decade") == 1850
    assert field_value({"date": "-0044-03-15"}, "d", "year") == -44
    assert field_value({"date": "1945-01-21T10:00:00+01:00"}, "d", "year") == 1945
    # A date not written year first has no year here: "21/01/1945" had been counted in the year 21.
    for odd in ("21/01/1945", "21 January 1945", "21.01.1945", "1e3", "19450121"):
        assert field_value({"date": odd}, "d", "year") is None, odd
    for dated in ("1945/01/21", "1945?", "1945-1950"):
        assert field_value({"date": dated}, "d", "year") == 1945, dated
    assert field_value({"year": "n.d.", "date": "1961-01-30"}, "d", "year") == 1961
    assert field_value({}, "doc-7", "document") == "doc-7"
    assert field_value({"path": "x"}, "doc-7", "path", "/c/1945.txt") == "/c/1945.txt"  # as --where path= reads it
    assert field_value({"path": "x"}, "doc-7", "meta.path", "/c/1945.txt") == "x"
    bins, where, _ = make_bins(["/c/1945", "/c/1950", None], "path")
    assert [b[0] for b in bins] == ["/c/1945", "/c/1950"] and where == [0, 1, None]


def test_a_field_no_usage_has_is_an_error_that_says_how_to_add_one(shifting_index: Path) -> None:
    with SenseIndex.open(shifting_index, read_only=True) as index:
        report = index.senses("bank", k=2)
        with pytest.raises(QueryError, match="metadata.csv"):
            sense_timeline(index, report, "president")
        # A misspelt field said only how to give documents fields: the fields there are come first.
        with pytest.raises(QueryError, match="a value for 'yaer'; documents have the fields date, party, year; JSONL"):
            sense_timeline(index, report, "yaer")


def test_charts_are_pngs(shifting_index: Path, tmp_path: Path) -> None:
    with SenseIndex.open(shifting_index, read_only=True) as index:
        report = index.senses("bank", k=2)
        for by, kind in (("decade", "area"), ("year", "bars"), ("party", "area")):
            target = tmp_path / f"{by}.png"
            plot_timeline(sense_timeline(index, report, by), target, kind=kind)
            assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_area_chart_of_one_bin_with_usages_shows_its_shares(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every usage dated 1950 (or one year among empty ones): the stacked area had no width, so the chart was blank."""
    from sensesearch import diachronic

    drawn = []
    monkeypatch.setattr(diachronic, "save_png", lambda figure, target: drawn.append(figure))
    timeline = diachronic.SenseTimeline(word="bank", by="year", senses=(1, 2), keywords=(("money",), ("river",)),
                                        bins=(diachronic.SenseBin("1950", 1950.0, 1951.0, 3, (2, 1)),),
                                        missing=0, bin_width=1.0)
    plot_timeline(timeline, tmp_path / "one.png", kind="area")
    top = drawn[0].axes[0]
    assert sorted(round(p.get_height()) for p in top.patches) == [33, 67]
    assert "in 1 bin" in top.get_title()


@pytest.mark.parametrize("values, width", [([1990, 2000], 1e-320), ([-1e308, 1e308], None), ([1, float("inf")], None)])
def test_bins_past_float_range_are_refused_or_skipped_never_a_crash(values: list[float], width: float | None) -> None:
    try:
        bins, _, _ = make_bins(values, "score", bin_width=width)
    except QueryError as exc:
        assert "at most 1,000" in str(exc)
    else:
        assert 0 < len(bins) <= 1_000


@pytest.mark.parametrize("width", [1e308, 1e300, 1e18])
def test_a_huge_bin_width_puts_each_value_in_the_bin_that_holds_it(width: float) -> None:
    # Counted from the first bin's start, -44 fell into 0-1e308: 1e308 - 44 is 1e308 in decimal's 28 digits.
    bins, index, _ = make_bins([-44, 1999, 1945, 0], "year", bin_width=width)
    for value, at in zip([-44, 1999, 1945, 0], index):
        assert at is not None and bins[at][1] <= value < bins[at][2], (value, bins[at])
