"""Placeholder replaced by the real CLI in the next commit."""


def main() -> None:
    """Entry point."""
