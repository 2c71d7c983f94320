from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu import load_lexicon
from bot.nlu.classifier import Example, train_cached
from bot.nlu.entities import extract, find_amount
from bot.nlu.masking import mask_personal_data
from tests.conftest import CONTENT_DIR

EXAMPLES = [
    Example("xoá dữ liệu của tôi", "delete_data", "delete_data"),
    Example("xoa thong tin ca nhan", "delete_data", "delete_data"),
    Example("hỗ trợ mua máy móc", "may.summary", "may"),
    Example("mua máy được bao nhiêu", "may.levels", "may"),
    Example("thời tiết hôm nay", "out_of_scope", "out_of_scope"),
    Example("giá vàng", "out_of_scope", "out_of_scope"),
]


def test_the_model_is_cached_by_content_hash(tmp_path: Path) -> None:
    lexicon = load_lexicon(CONTENT_DIR)
    first = train_cached(EXAMPLES, lexicon, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("nlu-*.pickle"))) == 1
    again = train_cached(EXAMPLES, lexicon, cache_dir=tmp_path)
    assert again.rank("xoa du lieu")[0] == first.rank("xoa du lieu")[0]
    train_cached([*EXAMPLES, Example("mua máy cũ", "may.old", "may")], lexicon, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("nlu-*.pickle"))) == 2


def test_a_broken_cache_file_means_training_again(tmp_path: Path) -> None:
    lexicon = load_lexicon(CONTENT_DIR)
    train_cached(EXAMPLES, lexicon, cache_dir=tmp_path)
    (cached,) = tmp_path.glob("nlu-*.pickle")
    cached.write_bytes(b"not a pickle")
    assert train_cached(EXAMPLES, lexicon, cache_dir=tmp_path).rank("mua may")[0].group == "may"


def test_the_fast_path_gives_scikit_learns_features(tmp_path: Path) -> None:
    classifier = train_cached(EXAMPLES, load_lexicon(CONTENT_DIR), cache_dir=tmp_path)
    for text in ("mua máy bao nhiêu tiền", "xoá hết 👍", "zzz"):
        indices, values = classifier._vector(text)
        row = classifier.features(text).toarray().ravel()
        assert dict(zip(indices.tolist(), values.tolist(), strict=True)) == pytest.approx(
            {index: value for index, value in enumerate(row) if value}
        )


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("mua máy sấy 700 triệu thì được bao nhiêu", 700_000_000),
        ("may 700tr ho tro bn", 700_000_000),
        ("máy 1 tỷ 2", 1_200_000_000),
        ("công ty 500 công nhân", None),
        ("máy 500 hoặc 600 triệu", None),
    ],
)
def test_amounts_are_found_in_questions(text: str, amount: int | None) -> None:
    assert find_amount(text) == amount


def test_other_entities() -> None:
    found = extract("HTX mua cả dây chuyền ở phường 5")
    assert (found.technology_line, found.facility_type, found.place_kind) == (
        True,
        "hop_tac_xa",
        "phuong",
    )


def test_personal_data_is_masked() -> None:
    assert (
        mask_personal_data("ghi danh giúp tôi, sđt 0912 345 678") == "ghi danh giúp tôi, sđt <số>"
    )
    assert "lan@x.vn" not in mask_personal_data("email lan@x.vn")
    assert "Hùng" not in mask_personal_data("em là Nguyễn Văn Hùng")


def test_the_content_check_finds_intent_mistakes(tmp_path: Path) -> None:
    import shutil

    from bot.nlu.intents import check_intents

    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root)
    path = root / "nlu" / "intents.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "  goodbye:\n", "  flirt:\n    reply: nlu/goodbye\n    examples: [a]\n  goodbye:\n"
    )
    text = text.replace("      - tạm biệt\n", "      - tạm biệt\n      - cảm ơn\n")
    path.write_text(text, encoding="utf-8")
    problems = "\n".join(str(problem) for problem in check_intents(root))
    assert "unknown intent 'flirt'" in problems
    assert "'flirt' has 1 examples" in problems
    assert "'cam on' is an example of both 'thanks' and 'goodbye'" in problems
    assert check_intents(CONTENT_DIR) == []


def test_a_greeting_before_a_question_gives_way_to_the_question() -> None:
    from handlers.common.questions import load_question_index

    interpreter = load_question_index(CONTENT_DIR).interpreter
    greeting = interpreter.read("chào em nha")
    assert (greeting.verdict.value, greeting.label) == ("act", "greeting")
    question = interpreter.read("Dạ em chào cô, nhà em làm bánh pía muốn đi hội chợ thì sao ạ")
    assert question.verdict.value == "act"
    assert question.label.startswith("hoi_cho_trien_lam.")


def test_thresholds_are_checked() -> None:
    from bot.nlu.understanding import Interpreter
    from handlers.common.questions import load_question_index

    classifier = load_question_index(CONTENT_DIR).interpreter.classifier
    with pytest.raises(ValueError, match="thresholds"):
        Interpreter(classifier, confident=0.1, floor=0.3)
