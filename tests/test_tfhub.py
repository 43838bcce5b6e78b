"""`--model tfhub:FOLDER`: TF Hub BERT encoder SavedModels give the transformers path's vectors.

The fast tests need no TensorFlow (argument checks, the missing-extra message, the tokenizer built
from a vocabulary file, the fingerprint). The slow ones export the bundled MiniLM as a TF Hub
SavedModel (sensesearch.tfhub_export) and compare every vector with the transformers path's; they
skip without TensorFlow on a developer's machine and fail without it under CI, which installs the extra.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sensesearch import SenseIndex
from sensesearch.cli import app
from sensesearch.config import DEFAULT_LAYERS, EncoderSettings
from sensesearch.encoder import ENCODER_FACTORIES, load_encoder, resolve_model_path
from sensesearch.errors import ModelLoadError
from sensesearch.tfhub import INSTALL_HINT, savedmodel_fingerprint, tf_device, wordpiece_tokenizer
from sensesearch.tfhub_export import export_tfhub_bert

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "corpora" / "demo"
runner = CliRunner()
needs_tf = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None and not os.environ.get("CI"),
                              reason=f"TensorFlow is not installed ({INSTALL_HINT}); CI installs it")
SENTENCES = [
    "The bank raised its interest rates again this spring.",
    "We sat on the grassy bank of the river, unaffected by Zürich's café prices!",
    "Ünïcödé, ÉCOLE 東京 naïve co-operate 3.14 U.S.A. -- don't",
    "",
    " ".join(f"token{i} river bank" for i in range(60)),
]


def fake_savedmodel(folder: Path) -> Path:
    """A folder that passes the path checks (a saved_model.pb) but is no model."""
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"graph")
    (folder / "variables" / "variables.index").write_bytes(b"index")
    (folder / "variables" / "variables.data-00000-of-00001").write_bytes(b"weights")
    return folder


# ---- without TensorFlow --------------------------------------------------------------------------

def test_tfhub_is_a_registered_prefix() -> None:
    assert "tfhub" in ENCODER_FACTORIES


def test_tensorflow_is_never_imported_before_a_tfhub_model_is_used() -> None:
    code = ("import sys, sensesearch, sensesearch.cli, sensesearch.encoder, sensesearch.tfhub, "
            "sensesearch.tfhub_export, sensesearch.index; print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert done.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("url", ["tfhub:https://tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4",
                                 "tfhub:http://example.org/bert", "tfhub:HTTPS://www.kaggle.com/models/x"])
def test_a_url_asks_for_the_model_to_be_downloaded_first(url: str) -> None:
    with pytest.raises(ModelLoadError, match="download the model first"):
        load_encoder(EncoderSettings(model=url))


def test_a_missing_folder_or_a_folder_without_saved_model_pb_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no folder"):
        load_encoder(EncoderSettings(model=f"tfhub:{tmp_path / 'absent'}"))
    with pytest.raises(ModelLoadError, match="no folder"):
        load_encoder(EncoderSettings(model="tfhub:"))
    with pytest.raises(ModelLoadError, match="no saved_model.pb"):
        load_encoder(EncoderSettings(model=f"tfhub:{tmp_path}"))


def test_int8_is_refused_before_tensorflow_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    with pytest.raises(ModelLoadError, match="runs float32"):
        load_encoder(EncoderSettings(model=f"tfhub:{fake_savedmodel(tmp_path / 'm')}", precision="int8"))


def test_without_tensorflow_the_error_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # import tensorflow now raises ImportError
    model = f"tfhub:{fake_savedmodel(tmp_path / 'm')}"
    with pytest.raises(ModelLoadError, match=r"sensesearch\[tf\]"):
        load_encoder(EncoderSettings(model=model))
    lines = tmp_path / "lines.txt"
    lines.write_text("The bank raised rates.\nThe river bank flooded.\n")
    result = runner.invoke(app, ["compare", "bank", str(lines), "--model", model])
    assert result.exit_code == 1 and not isinstance(result.exception, ModelLoadError)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "pip install 'sensesearch[tf]'" in errors[0]
    assert isinstance(result.exception, SystemExit)
    result = runner.invoke(app, ["index", str(DEMO), "--index", str(tmp_path / "idx"), "--model", model, "--quiet"])
    assert result.exit_code == 1 and "sensesearch[tf]" in result.output
    assert not (tmp_path / "idx" / "config.json").exists()


def test_devices_map_to_tensorflow_names() -> None:
    assert tf_device(None) is None
    assert tf_device("cpu") == "/CPU:0"
    assert tf_device("cuda") == "/GPU:0" and tf_device("cuda:1") == "/GPU:1"
    with pytest.raises(ModelLoadError, match="mps"):
        tf_device("mps")


def test_fingerprint_is_the_savedmodel_files_content(tmp_path: Path) -> None:
    first = savedmodel_fingerprint(fake_savedmodel(tmp_path / "a"))
    copy = tmp_path / "b"
    shutil.copytree(tmp_path / "a", copy)
    assert savedmodel_fingerprint(copy) == first and len(first) == 16
    (copy / "variables" / "variables.data-00000-of-00001").write_bytes(b"weightz")
    changed = savedmodel_fingerprint(copy)
    assert changed != first
    (copy / "assets").mkdir()
    (copy / "assets" / "vocab.txt").write_text("[PAD]\n")
    assert savedmodel_fingerprint(copy) not in (first, changed)


def test_tokenizer_from_the_vocabulary_file_matches_the_bundled_one() -> None:
    from transformers import AutoTokenizer

    folder = Path(resolve_model_path(EncoderSettings().model))
    bundled = AutoTokenizer.from_pretrained(str(folder))
    ours = wordpiece_tokenizer(folder / "vocab.txt", lower=True, max_length=512)
    assert ours.is_fast
    kwargs = {"add_special_tokens": False, "return_offsets_mapping": True}
    expected, got = bundled(SENTENCES, **kwargs), ours(SENTENCES, **kwargs)
    assert got["input_ids"] == expected["input_ids"]
    assert got["offset_mapping"] == expected["offset_mapping"]
    assert [got.word_ids(i) for i in range(len(SENTENCES))] == [expected.word_ids(i) for i in range(len(SENTENCES))]
    assert (ours.cls_token_id, ours.sep_token_id, ours.pad_token_id) == (101, 102, 0)
    assert ours("bank")["input_ids"] == bundled("bank")["input_ids"]  # [CLS] bank [SEP]


def test_a_cased_vocabulary_keeps_case(tmp_path: Path) -> None:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Bank", "bank", "é", "##s"]) + "\n")
    cased = wordpiece_tokenizer(vocab, lower=False, max_length=512)
    assert cased.convert_ids_to_tokens(cased("Bank banks é", add_special_tokens=False)["input_ids"]) == \
        ["Bank", "bank", "##s", "é"]
    vocab.write_text("[PAD]\n[UNK]\nbank\n")
    with pytest.raises(ModelLoadError, match=r"\[CLS\]"):
        wordpiece_tokenizer(vocab, lower=True, max_length=512)


def test_without_a_do_lower_case_flag_the_vocabulary_decides(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from sensesearch.tfhub import _vocabulary

    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nbank\n##s\n")
    assert _vocabulary(SimpleNamespace(), tmp_path) == (assets / "vocab.txt", True)
    (assets / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nBank\nbank\n")
    assert _vocabulary(SimpleNamespace(), tmp_path) == (assets / "vocab.txt", False)
    (assets / "vocab.txt").unlink()
    with pytest.raises(ModelLoadError, match="no vocabulary"):
        _vocabulary(SimpleNamespace(), tmp_path)


def test_export_refuses_what_it_cannot_convert_before_writing(tmp_path: Path) -> None:
    from sensesearch.tfhub_export import main

    taken = tmp_path / "taken"
    taken.mkdir()
    with pytest.raises(ModelLoadError, match="exists already"):
        export_tfhub_bert(EncoderSettings().model, taken)
    with pytest.raises(ModelLoadError, match="never downloads"):
        export_tfhub_bert("bert-base-uncased", tmp_path / "out")
    (tmp_path / "roberta").mkdir()
    (tmp_path / "roberta" / "config.json").write_text('{"model_type": "roberta"}')
    with pytest.raises(ModelLoadError, match="only BERT"):
        export_tfhub_bert(str(tmp_path / "roberta"), tmp_path / "out")
    assert main([str(tmp_path / "absent"), str(tmp_path / "out")]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roberta", "taken"]


# ---- with TensorFlow: the bundled MiniLM as a TF Hub SavedModel ------------------------------------

@pytest.fixture(scope="module")
def minilm_savedmodel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_tfhub_bert(EncoderSettings().model, tmp_path_factory.mktemp("tfhub") / "minilm")


def max_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(largest absolute difference of any component, smallest cosine of paired rows)."""
    return float(np.abs(a - b).max()), float((a * b).sum(axis=1).min())


@pytest.mark.slow
@needs_tf
@pytest.mark.parametrize("recipe", [
    {"layers": DEFAULT_LAYERS},
    {"layers": (-1,)},
    {"layers": (1, 3), "combine": "concat", "pooling": "first"},
    {"layers": DEFAULT_LAYERS, "max_length": 24, "stride": 8},  # long sentences cut into windows
])
def test_tfhub_vectors_equal_the_transformers_path(minilm_savedmodel: Path, recipe: dict) -> None:
    reference = load_encoder(EncoderSettings(**recipe))
    through_tf = load_encoder(EncoderSettings(model=f"tfhub:{minilm_savedmodel}", **recipe))
    assert through_tf.dim == reference.dim
    ours, theirs = through_tf.encode(SENTENCES), reference.encode(SENTENCES)
    for a, b in zip(ours, theirs):
        assert np.array_equal(a.spans, b.spans) and a.n_pieces == b.n_pieces
    diff, cosine = max_difference(np.concatenate([e.vectors for e in ours]), np.concatenate([e.vectors for e in theirs]))
    print(f"tfhub vs transformers {recipe}: max |diff| {diff:.2e}, min cosine {cosine:.7f}")
    assert diff <= 1e-4 and cosine >= 0.9999


@pytest.mark.slow
@needs_tf
def test_layers_a_tfhub_encoder_lacks_are_refused(minilm_savedmodel: Path) -> None:
    with pytest.raises(ModelLoadError, match="embedding output"):
        load_encoder(EncoderSettings(model=f"tfhub:{minilm_savedmodel}", layers=(0, -1)))
    with pytest.raises(ModelLoadError, match="does not exist: .* has 6 layers"):
        load_encoder(EncoderSettings(model=f"tfhub:{minilm_savedmodel}", layers=(-8,)))


@pytest.mark.slow
@needs_tf
def test_the_batch_budget_is_settable_as_for_transformers(minilm_savedmodel: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # A fixed 4,096 had ignored $SENSESEARCH_BATCH_TOKENS.
    settings = EncoderSettings(model=f"tfhub:{minilm_savedmodel}")
    monkeypatch.delenv("SENSESEARCH_BATCH_TOKENS", raising=False)
    assert load_encoder(settings).planner.batch_tokens == 4096
    monkeypatch.setenv("SENSESEARCH_BATCH_TOKENS", "512")
    assert load_encoder(settings).planner.batch_tokens == 512


@pytest.mark.slow
@needs_tf
def test_export_carries_the_tfhub_interface(minilm_savedmodel: Path) -> None:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(minilm_savedmodel))
    assert bool(loaded.do_lower_case.numpy()) is True
    assert Path(loaded.vocab_file.asset_path.numpy().decode()).name == "vocab.txt"
    ids = tf.constant([[101, 2924, 102, 0]], dtype=tf.int32)
    out = loaded({"input_word_ids": ids, "input_mask": tf.constant([[1, 1, 1, 0]]), "input_type_ids": tf.zeros_like(ids)})
    assert len(out["encoder_outputs"]) == 6 and out["sequence_output"].shape == (1, 4, 384)
    assert np.array_equal(out["encoder_outputs"][-1].numpy(), out["sequence_output"].numpy())
    assert out["pooled_output"].shape == (1, 384)
    assert set(loaded.signatures["serving_default"].structured_outputs) >= {"sequence_output", "encoder_outputs_5"}


@pytest.mark.slow
@needs_tf
@pytest.mark.parametrize("layers", ["-4,-3,-2,-1", "-1"])
def test_index_query_compare_through_tfhub_equal_transformers(minilm_savedmodel: Path, tmp_path: Path,
                                                             layers: str) -> None:
    folders = {"tf": tmp_path / "tf", "hf": tmp_path / "hf"}
    models = {"tf": ["--model", f"tfhub:{minilm_savedmodel}"], "hf": []}
    for name, folder in folders.items():
        result = runner.invoke(app, ["index", str(DEMO), "--index", str(folder), "--layers", layers,
                                     "--compression", "flat", "--quiet", *models[name]])
        assert result.exit_code == 0, result.output
    config = json.loads((folders["tf"] / "config.json").read_text())
    assert config["encoder"]["model"] == f"tfhub:{minilm_savedmodel}"
    assert config["model_fingerprint"] == savedmodel_fingerprint(minilm_savedmodel)

    stored = {}
    for name, folder in folders.items():
        with SenseIndex.open(folder, read_only=True) as index:
            ids = index.vectors.sorted_ids()
            stored[name] = (ids, index.vectors.reconstruct(ids))
    assert np.array_equal(stored["tf"][0], stored["hf"][0])
    diff, cosine = max_difference(stored["tf"][1], stored["hf"][1])
    print(f"index --layers {layers}: {len(stored['tf'][0])} vectors, max |diff| {diff:.2e}, min cosine {cosine:.7f}")
    assert diff <= 1e-4 and cosine >= 0.9999

    hits = {}
    for name, folder in folders.items():
        result = runner.invoke(app, ["query", "She paid money into the [[bank]].", "--index", str(folder),
                                     "-k", "50", "--json"])
        assert result.exit_code == 0, result.output
        hits[name] = {h["occurrence_id"]: h["score"] for h in json.loads(result.stdout)}
    assert hits["tf"].keys() == hits["hf"].keys() and len(hits["tf"]) > 5
    assert max(abs(hits["tf"][k] - hits["hf"][k]) for k in hits["tf"]) <= 1e-4

    matrices = []
    for name in ("tf", "hf"):
        result = runner.invoke(app, ["compare", "bank", str(DEMO / "bank_lines.txt"), "--layers", layers, "--json",
                                     *models[name]])
        assert result.exit_code == 0, result.output
        matrices.append(np.array(json.loads(result.stdout)["similarity"], dtype=np.float64))
    assert matrices[0].shape[0] >= 3 and np.abs(matrices[0] - matrices[1]).max() <= 1e-4


@pytest.mark.slow
@needs_tf
def test_opening_with_other_weights_under_the_same_path_is_refused(minilm_savedmodel: Path, tmp_path: Path) -> None:
    from sensesearch.errors import ConfigMismatchError, SenseSearchError

    model = tmp_path / "model"
    shutil.copytree(minilm_savedmodel, model)
    index = tmp_path / "index"
    with SenseIndex.create(index, f"tfhub:{model}", compression="flat") as created:
        created.add([str(DEMO / "bank_lines.txt")])
    with (model / "assets" / "vocab.txt").open("a", encoding="utf-8") as handle:
        handle.write("zzzextra\n")  # another vocabulary: the same path now names another model
    with SenseIndex.open(index, read_only=True) as opened, pytest.raises((ConfigMismatchError, SenseSearchError),
                                                                        match="fingerprint"):
        opened.query("the [[bank]] of the river", k=1)


@pytest.mark.slow
@needs_tf
def test_bench_tfhub_smoke(minilm_savedmodel: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_tfhub.py"), "--docs", "1", "--chars", "600",
                           "--rounds", "1", "--savedmodel", str(minilm_savedmodel)],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    result = json.loads(lines[0])
    assert set(result["pieces_per_s"]) == {"transformers", "tfhub"} and result["word_pieces"] > 0
    assert result["max_abs_diff"] <= 1e-4 and result["min_cosine"] >= 0.9999
