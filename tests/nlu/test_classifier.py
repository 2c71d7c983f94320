from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from bot.nlu import load_lexicon
from bot.nlu.classifier import Classifier, Example, Reading, train_cached
from bot.nlu.entities import extract, find_amount
from bot.nlu.masking import mask_personal_data
from bot.nlu.model import ModelData
from handlers.common.questions import load_question_index
from tests.conftest import CONTENT_DIR, ROOT

#: A fresh interpreter importing the whole bot on a busy machine.
SUBPROCESS_TIMEOUT = 120

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
    assert len(list(tmp_path.glob("nlu-*.npz"))) == 1
    again = train_cached(EXAMPLES, lexicon, cache_dir=tmp_path)
    assert again.rank("xoa du lieu")[0] == first.rank("xoa du lieu")[0]
    train_cached([*EXAMPLES, Example("mua máy cũ", "may.old", "may")], lexicon, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("nlu-*.npz"))) == 2


def _members(content: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(content)) as arrays:
        return {name: arrays[name] for name in arrays.files}


def _saved(members: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **members)  # type: ignore[arg-type]
    return buffer.getvalue()


def _broken(content: bytes) -> list[bytes]:
    """Not a zip, a cut-off file, a member missing, a model whose arrays disagree, one whose
    coefficients are stored transposed (Fortran order) and one whose coefficients are
    pickled Python objects (never unpickled)."""
    model = ModelData.from_bytes(content)
    members = _members(content)
    coefficients = members["coefficients"]
    pickled = np.empty(coefficients.shape, dtype=object)
    pickled[...] = coefficients
    return [
        b"not a model",
        content[: len(content) // 2],
        _saved({name: array for name, array in members.items() if name != "meta"}),
        _saved({**members, "intercepts": np.asarray(model.intercepts)[:-1]}),
        _saved({**members, "coefficients": np.asfortranarray(coefficients)}),
        _saved({**members, "coefficients": pickled}),
    ]


def test_the_model_file_is_numpys_npz_both_ways(tmp_path: Path) -> None:
    """The bot writes and reads the cache without numpy, in numpy's own format: numpy reads
    what the bot wrote, and the bot reads what numpy wrote, to the last bit."""
    lexicon = load_lexicon(CONTENT_DIR)
    model = train_cached(EXAMPLES, lexicon, cache_dir=tmp_path).model
    members = _members(model.to_bytes())
    features = len(model.char_terms) + len(model.word_terms)
    assert members["coefficients"].shape == (features, len(model.classes))
    assert members["coefficients"].dtype == np.float64
    assert members["example_indptr"].dtype == np.int64
    assert members["coefficients"].tobytes() == model.coefficients.tobytes()
    again = ModelData.from_bytes(_saved(members))
    assert again.to_bytes() == model.to_bytes()
    assert again.example_data.tobytes() == model.example_data.tobytes()


def test_a_broken_cache_file_means_training_again(tmp_path: Path) -> None:
    lexicon = load_lexicon(CONTENT_DIR)
    expected = train_cached(EXAMPLES, lexicon, cache_dir=tmp_path).rank("mua may")
    (cached,) = tmp_path.glob("nlu-*.npz")
    good = cached.read_bytes()
    for broken in _broken(good):
        cached.write_bytes(broken)
        assert train_cached(EXAMPLES, lexicon, cache_dir=tmp_path).rank("mua may") == expected
        assert cached.read_bytes() == good


def test_an_unwritable_cache_means_training_each_time(tmp_path: Path) -> None:
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("")
    classifier = train_cached(EXAMPLES, load_lexicon(CONTENT_DIR), cache_dir=blocked)
    assert classifier.rank("mua may")[0].group == "may"


def test_training_in_a_child_process_gives_the_same_model(tmp_path: Path) -> None:
    lexicon = load_lexicon(CONTENT_DIR)
    isolated = train_cached(EXAMPLES, lexicon, cache_dir=tmp_path / "child", isolated=True)
    here = train_cached(EXAMPLES, lexicon, cache_dir=tmp_path / "here")
    assert isolated.model.to_bytes() == here.model.to_bytes()
    assert len(list((tmp_path / "child").glob("nlu-*.npz"))) == 1


def test_the_bot_never_imports_scikit_learn_scipy_or_numpy() -> None:
    """Serving reads the fitted arrays: scikit-learn, scipy and numpy (about 120 MB) stay out
    of the bot's process, ``serve``'s modules included. The session's cache is warmed first,
    as a deployed bot's is."""
    load_question_index(CONTENT_DIR)
    script = (
        "import sys\n"
        "import bot.app.cli\n"
        "import bot.app.runtime\n"
        "from pathlib import Path\n"
        "from handlers.common.questions import load_question_index\n"
        f"load_question_index(Path({str(CONTENT_DIR)!r})).interpreter.read('mua may')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'numpy'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert done.stdout.strip() == "[]", done.stderr


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
    interpreter = load_question_index(CONTENT_DIR).interpreter
    greeting = interpreter.read("chào em nha")
    assert (greeting.verdict.value, greeting.label) == ("act", "greeting")
    question = interpreter.read("Dạ em chào cô, nhà em làm bánh pía muốn đi hội chợ thì sao ạ")
    assert question.verdict.value == "act"
    assert question.label.startswith("hoi_cho_trien_lam.")


def test_thresholds_are_checked() -> None:
    from bot.nlu.understanding import Interpreter

    classifier = load_question_index(CONTENT_DIR).interpreter.classifier
    with pytest.raises(ValueError, match="thresholds"):
        Interpreter(classifier, confident=0.1, floor=0.3)


class CountingClassifier:
    """The real classifier, counting the texts it reads."""

    def __init__(self, inner: Classifier) -> None:
        self.inner = inner
        self.reads: list[str] = []

    def read(self, text: str, *, limit: int = 3) -> Reading:
        self.reads.append(text)
        return self.inner.read(text, limit=limit)


def test_a_text_read_before_gets_the_same_decision_without_reading_it_again() -> None:
    from bot.nlu.understanding import REMEMBERED_TEXT_CHARS, Interpreter

    counting = CountingClassifier(load_question_index(CONTENT_DIR).interpreter.classifier)
    interpreter = Interpreter(cast(Classifier, counting), remember=2)
    first = interpreter.read("hồ sơ gồm gì")
    assert interpreter.read("hồ sơ gồm gì") == first
    assert counting.reads == ["hồ sơ gồm gì"]
    interpreter.read("hội chợ có mất phí ko")
    interpreter.read("hồ sơ gồm gì")  # the most recent two are kept
    interpreter.read("cảm ơn")  # pushes out the least recent: the fair question
    interpreter.read("hội chợ có mất phí ko")
    assert counting.reads.count("hội chợ có mất phí ko") == 2
    assert counting.reads.count("hồ sơ gồm gì") == 1
    long_text = "máy " * REMEMBERED_TEXT_CHARS
    interpreter.read(long_text)
    interpreter.read(long_text)
    assert counting.reads.count(long_text) == 2
