"""``dev.py``: ``run`` installs the runtime only, ``test`` the dev tools too."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_needs_the_runtime_install_and_test_the_dev_one(tmp_path: Path) -> None:
    dev = _dev()
    marker = tmp_path / "marker"
    assert not dev.installed(dev=False, marker=marker)
    marker.write_text(dev.install_marker(dev=False))
    assert dev.installed(dev=False, marker=marker)
    assert not dev.installed(dev=True, marker=marker)  # test installs pytest, ruff, mypy…
    marker.write_text(dev.install_marker(dev=True))
    assert dev.installed(dev=True, marker=marker) and dev.installed(dev=False, marker=marker)
    marker.write_text("another-pyproject:dev")
    assert not dev.installed(dev=False, marker=marker)


def test_the_readme_commands_work_after_set_up() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/khuyencong" in readme and "source .venv/bin/activate" in readme
    assert "HOST=0.0.0.0" in readme
