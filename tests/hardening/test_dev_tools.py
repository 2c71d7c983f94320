"""dev.py upgrades the bundled pip and setuptools, and pip-audit is a developer tool."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version

import pytest

from tests.conftest import ROOT

#: The first setuptools without CVE-2024-6345 and CVE-2025-47273.
SAFE_SETUPTOOLS = (78, 1, 1)


def _dev_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dev_py_upgrades_pip_and_setuptools_and_offers_an_audit() -> None:
    dev = _dev_module()
    assert set(dev.BOOTSTRAP_PACKAGES) == {"pip", "setuptools"}
    assert "dev.py audit" in (dev.__doc__ or "")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(item.startswith("pip-audit") for item in extras["optional-dependencies"]["dev"])


def test_the_venv_has_no_known_vulnerable_setuptools() -> None:
    if sys.prefix == sys.base_prefix:
        pytest.skip("not running in a virtual environment")
    try:
        installed = version("setuptools")
    except PackageNotFoundError:
        return  # none at all is safe too
    parts = tuple(int(part) for part in installed.split(".")[:3] if part.isdigit())
    assert parts >= SAFE_SETUPTOOLS, installed
