from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.texts import ContentError
from bot.nlu import Lexicon, check_lexicon, load_lexicon
from bot.nlu.lexicon import ABBREVIATIONS_FILE, NLU_DIR, STOP_WORDS_FILE, SYNONYMS_FILE
from tests.nlu.kit import CONTENT_DIR, read_table

MIN_ABBREVIATIONS = 30


def expanded(lexicon: Lexicon, text: str) -> str:
    return " ".join(token.key for token in lexicon.tokens(text))


def terms(lexicon: Lexicon, text: str) -> list[str]:
    return [token.key for token in lexicon.terms(lexicon.tokens(text))]


@pytest.mark.parametrize(("text", "expected"), read_table("abbreviations.yaml"))
def test_abbreviations_and_chat_spellings_are_expanded(
    lexicon: Lexicon, text: str, expected: str
) -> None:
    assert expanded(lexicon, text) == expected


def test_the_content_has_enough_abbreviations(lexicon: Lexicon) -> None:
    assert len(lexicon.abbreviations) + len(lexicon.accented_abbreviations) >= MIN_ABBREVIATIONS


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("hội chợ", "triển lãm"),
        ("hoi cho", "gian hàng"),
        ("website", "trang web"),
        ("bán hàng online", "sàn thương mại điện tử"),
        ("máy móc", "thiết bị"),
        ("máy", "mmtb"),
    ],
)
def test_synonyms_become_one_concept(lexicon: Lexicon, a: str, b: str) -> None:
    assert terms(lexicon, a) == terms(lexicon, b)
    assert terms(lexicon, a)[0].startswith("_")


def test_longest_synonym_phrase_wins(lexicon: Lexicon) -> None:
    assert terms(lexicon, "gian hàng online") == terms(lexicon, "website")
    assert terms(lexicon, "may mặc") != terms(lexicon, "máy")


def test_stop_words_are_dropped_but_accented_homographs_kept(lexicon: Lexicon) -> None:
    assert terms(lexicon, "cho em hỏi với ạ") == []
    assert terms(lexicon, "ban oi nha") == []  # bạn ơi nhé typed plain: fillers
    assert terms(lexicon, "nhà") == ["nha"]
    assert terms(lexicon, "nha") == []


def test_other_topics_are_concepts_of_their_own(lexicon: Lexicon) -> None:
    assert terms(lexicon, "bán nhà") == terms(lexicon, "nhà đất")
    assert terms(lexicon, "vay vốn")[0] in lexicon.other_topics
    assert terms(lexicon, "hội chợ")[0] not in lexicon.other_topics


def test_stop_phrases_are_dropped_whole(lexicon: Lexicon) -> None:
    assert terms(lexicon, "nhà nước hỗ trợ máy") == ["ho", "tro", "_may_moc"]


def test_numbers_carry_no_topic(lexicon: Lexicon) -> None:
    assert expanded(lexicon, "năm 2025 được 300tr") == "nam duoc trieu"


def write_nlu(root: Path, **files: str) -> Path:
    folder = root / NLU_DIR
    folder.mkdir(parents=True)
    for name in (ABBREVIATIONS_FILE, SYNONYMS_FILE, STOP_WORDS_FILE):
        source = CONTENT_DIR / NLU_DIR / name
        (folder / name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("abbreviations", "- ko\n- k\n", "expected a mapping"),
        ("abbreviations", "không: ko\n", "expected a non-empty list"),
        ("abbreviations", "không: [ko]\nkhông biết: [ko]\n", "listed for two different words"),
        ("abbreviations", "không: [k o]\n", "must be one word"),
        ("abbreviations", "không: [ko\n", "abbreviations.yaml:"),
        ("synonyms", "- [hội chợ, triển lãm]\n", "expected groups:"),
        ("synonyms", "groups: [[hội chợ, triển lãm]]\nother: []\n", "unknown section 'other'"),
        ("synonyms", "groups: []\nother_topics: {a: b}\n", "other_topics: expected a list"),
        ("synonyms", "groups:\n  - [hội chợ]\n", "groups group 1 needs at least 2"),
        ("synonyms", "groups:\n  - [hội chợ, triển lãm]\n  - [triển lãm, web]\n", "in two"),
        ("synonyms", "groups: [[hội chợ, triển lãm]]\nother_topics: [[vay, hội chợ]]\n", "two"),
        ("synonyms", "groups:\n  - [hội chợ, '...']\n", "has no word"),
        ("stopwords", "ạ: true\n", "expected a non-empty list"),
        ("stopwords", "- [ạ]\n", "every entry must be a non-empty text"),
        ("stopwords", "- cho, em\n", "must be words"),
        ("stopwords", "- hội chợ\n", "also a synonym phrase"),
    ],
)
def test_malformed_files_raise_a_content_error_naming_the_file(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    root = write_nlu(tmp_path, **{name: text})
    with pytest.raises(ContentError) as caught:
        load_lexicon(root)
    message = str(caught.value)
    assert f"{name}.yaml" in message
    assert problem in message


def test_check_lexicon_lists_the_problem(tmp_path: Path) -> None:
    assert check_lexicon(CONTENT_DIR) == []
    root = write_nlu(tmp_path, synonyms="groups:\n  - [hội chợ]\n")
    (problem,) = check_lexicon(root)
    assert problem.path == root / NLU_DIR / SYNONYMS_FILE


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    root = write_nlu(tmp_path)
    (root / NLU_DIR / SYNONYMS_FILE).unlink()
    with pytest.raises(ContentError, match=r"synonyms\.yaml: file not found"):
        load_lexicon(root)
