"""`deploy-drill` / `python -m bot`: the entry point. Composition lives in bot.runtime."""

from __future__ import annotations

import sys

from bot.cli import main as cli_main


def main() -> None:
    sys.exit(cli_main())


if __name__ == "__main__":
    main()
