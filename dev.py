"""One entry point for a fresh machine with only Python 3.11: set up, then run or test.

    python3 dev.py run    # create .venv, install, apply migrations, serve web chat (+ Telegram)
    python3 dev.py test   # create .venv, install with dev tools, run every check and test
    python3 dev.py audit  # check the installed packages for known vulnerabilities (pip-audit)

`run` installs only what the bot needs and listens on 127.0.0.1 (this computer only) unless
HOST is set; `test` adds the dev tools (pytest, ruff, mypy, Playwright).

Only the standard library is used here, because nothing else exists yet on a fresh machine.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MARKER = VENV / ".installed-hash"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
MIN_PYTHON = (3, 11)
#: Upgraded first in a new .venv: the copies bundled with Python carry known CVEs
#: (setuptools 65 is affected by CVE-2024-6345 and CVE-2025-47273).
BOOTSTRAP_PACKAGES = ("pip", "setuptools")
DEV_EXTRA = "dev"
#: Commands that need the dev tools (pytest, ruff, mypy, Playwright, pip-audit).
DEV_COMMANDS = frozenset({"test", "audit"})


def _python() -> Path:
    return BIN / ("python.exe" if os.name == "nt" else "python")


def _install_hash() -> str:
    """Reinstall only when the project's dependencies change."""
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def install_marker(*, dev: bool) -> str:
    return f"{_install_hash()}:{DEV_EXTRA if dev else ''}"


def installed(*, dev: bool, marker: Path = MARKER) -> bool:
    """The dev install includes the runtime one, so ``run`` after ``test`` installs nothing."""
    if not marker.exists():
        return False
    wanted, _, extras = marker.read_text().partition(":")
    return wanted == _install_hash() and (extras == DEV_EXTRA or not dev)


def ensure_venv(*, dev: bool) -> None:
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"Cần Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} trở lên (đang dùng {sys.version}).")
    if not _python().exists():
        print("• Tạo môi trường ảo .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if installed(dev=dev):
        return
    print("• Cài đặt thư viện (lần đầu mất vài phút) …", flush=True)
    pip = [str(_python()), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", *BOOTSTRAP_PACKAGES], check=True)
    target = f"{ROOT}[{DEV_EXTRA}]" if dev else str(ROOT)
    subprocess.run([*pip, "install", "-e", target], check=True)
    MARKER.write_text(install_marker(dev=dev))


def run_checks() -> int:
    """Lint, format, types, content, then the test suite: the same as CI."""
    steps: list[list[str]] = [
        [str(BIN / "ruff"), "check", "."],
        [str(BIN / "ruff"), "format", "--check", "."],
        [str(BIN / "mypy")],
        [str(BIN / "khuyencong"), "content", "check"],
        [str(_python()), "-m", "pytest", "-q", *sys.argv[2:]],
    ]
    for step in steps:
        print(f"\n$ {' '.join(Path(step[0]).name if i == 0 else a for i, a in enumerate(step))}")
        code = subprocess.run(step, cwd=ROOT, check=False).returncode
        if code != 0:
            return code
    return 0


def run_audit() -> int:
    """Known vulnerabilities in the installed packages (asks PyPI's advisory data)."""
    audit = [str(_python()), "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off"]
    return subprocess.run([*audit, *sys.argv[2:]], cwd=ROOT, check=False).returncode


def print_staff_hint() -> None:
    """Where staff find the dashboard, and how the first administrator gets in."""
    port = os.environ.get("PORT", "8080")
    base = os.environ.get("PUBLIC_URL", "").rstrip("/") or f"http://127.0.0.1:{port}"
    khuyencong = BIN / "khuyencong"
    print(f"• Web chat: {base}/chat", flush=True)
    print(f"• Bảng điều khiển cán bộ: {base}/staff/", flush=True)
    print(
        f"  Tạo tài khoản quản trị đầu tiên (in mật khẩu dùng một lần):\n"
        f"    {khuyencong} staff add <tên-đăng-nhập> --admin\n"
        f"  Thêm cán bộ phụ trách một xã/phường: {khuyencong} staff add <tên> --ward <mã xã>",
        flush=True,
    )


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if command not in {"run", "test", "audit"}:
        print(__doc__)
        return 2
    ensure_venv(dev=command in DEV_COMMANDS)
    if command == "test":
        return run_checks()
    if command == "audit":
        return run_audit()
    args = [str(BIN / "khuyencong"), "serve", *sys.argv[2:]]
    os.chdir(ROOT)
    print_staff_hint()
    os.execv(args[0], args)
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main())
