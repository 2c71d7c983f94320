"""One entry point for a fresh machine with only Python 3.11: set up, then run or test.

    python3 dev.py run    # create .venv, install, apply migrations, serve web chat (+ Telegram)
    python3 dev.py test   # create .venv, install with dev tools, run every check and test

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


def _python() -> Path:
    return BIN / ("python.exe" if os.name == "nt" else "python")


def _install_hash() -> str:
    """Reinstall only when the project's dependencies change."""
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_venv() -> None:
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"Cần Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} trở lên (đang dùng {sys.version}).")
    if not _python().exists():
        print("• Tạo môi trường ảo .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = _install_hash()
    if MARKER.exists() and MARKER.read_text() == wanted:
        return
    print("• Cài đặt thư viện (lần đầu mất vài phút) …", flush=True)
    pip = [str(_python()), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[dev]"], check=True)
    MARKER.write_text(wanted)


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
    if command not in {"run", "test"}:
        print(__doc__)
        return 2
    ensure_venv()
    if command == "test":
        return run_checks()
    args = [str(BIN / "khuyencong"), "serve", *sys.argv[2:]]
    os.chdir(ROOT)
    print_staff_hint()
    os.execv(args[0], args)
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main())
