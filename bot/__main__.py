"""`python -m bot` is the same as the `petition-bot` console script."""

from bot.cli import main

raise SystemExit(main())
