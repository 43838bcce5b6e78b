"""A config.json that is not one sensesearch writes (hand-edited, another program's, cut short) is one line naming
what is wrong, for every command that opens the index; never an unexpected error or a bare key."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sensesearch.cli import app
from sensesearch.config import CONFIG_FILE, ENCODER_FIELD_KINDS, INDEX_FIELD_KINDS, EncoderSettings, IndexConfig
from sensesearch.errors import IndexCorruptError

runner = CliRunner()
GOOD_ENCODER = {"model": "fake:test", "layers": [-1]}

BAD_CONFIGS = [
    ([1, 2], "it holds [1, 2], not a JSON object"),
    ("x", 'it holds "x", not a JSON object'),
    (None, "it holds null, not a JSON object"),
    ({"name": "my app"}, "it has no 'encoder' object"),
    ({"encoder": 5}, "'encoder' is not a JSON object"),
    ({"encoder": {"model": "x"}}, "'encoder' has no 'layers'"),
    ({"encoder": {**GOOD_ENCODER, "layers": 5}}, "'encoder.layers' should be a list of whole numbers, not 5"),
    ({"encoder": {**GOOD_ENCODER, "layers": [True]}}, "'encoder.layers' should be a list of whole numbers"),
    ({"encoder": {**GOOD_ENCODER, "stride": "128"}}, "'encoder.stride' should be a whole number, not \"128\""),
    ({"encoder": {**GOOD_ENCODER, "bogus": 1}}, "'encoder' holds 'bogus', which this sensesearch does not know"),
    ({"encoder": GOOD_ENCODER, "format_version": "2"}, "'format_version' should be a whole number, not \"2\""),
    ({"encoder": GOOD_ENCODER, "dim": "abc"}, "'dim' should be a whole number, not \"abc\""),
    ({"encoder": GOOD_ENCODER, "db_url": 5}, "'db_url' should be text or null, not 5"),
    ({"encoder": GOOD_ENCODER, "compression": "zzz"}, "compression must be one of"),
    ({"encoder": {**GOOD_ENCODER, "precision": "bf17"}}, "precision must be one of"),
    ({"encoder": {"layers": "x"}, "format_version": 9}, "index format 9 is newer than this sensesearch understands"),
]


def test_every_field_has_a_kind() -> None:
    assert set(ENCODER_FIELD_KINDS) == {f.name for f in fields(EncoderSettings)}
    assert set(INDEX_FIELD_KINDS) | {"encoder"} == {f.name for f in fields(IndexConfig)}


@pytest.mark.parametrize("data,expected", BAD_CONFIGS)
def test_a_config_not_shaped_as_written_is_named_by_its_fault(tmp_path: Path, data: object, expected: str) -> None:
    (tmp_path / CONFIG_FILE).write_text(json.dumps(data))
    with pytest.raises(IndexCorruptError) as caught:
        IndexConfig.load(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / CONFIG_FILE} cannot be read: {expected}"), str(caught.value)
    assert IndexConfig.checksum_problem(tmp_path) is None  # load, not the checksum, says what is wrong


@pytest.mark.parametrize("data,expected", BAD_CONFIGS[:3] + BAD_CONFIGS[10:12])
@pytest.mark.parametrize("command", [["info"], ["usages", "bank"], ["verify"], ["query", "the [[bank]]"]])
def test_every_command_says_so_in_one_line(tmp_path: Path, data: object, expected: str, command: list[str]) -> None:
    (tmp_path / CONFIG_FILE).write_text(json.dumps(data))
    result = runner.invoke(app, [*command, "--index", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [f"Error: {tmp_path / CONFIG_FILE} cannot be read: {expected}"]


def test_a_config_as_written_still_loads(tmp_path: Path) -> None:
    config = IndexConfig(encoder=EncoderSettings(model="fake:test", layers=(-1,)), dim=8, db_url=None)
    config.save(tmp_path)
    assert IndexConfig.load(tmp_path) == config
    legacy = json.loads((tmp_path / CONFIG_FILE).read_text())
    del legacy["encoder"]["precision"], legacy["lemma_language"], legacy["checksum"]
    (tmp_path / CONFIG_FILE).write_text(json.dumps(legacy))
    assert IndexConfig.load(tmp_path) == config  # fields an older index lacks take their defaults
