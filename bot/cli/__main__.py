"""`python -m bot.cli`: the same as the `triagebot` console script."""

import sys

from bot.cli.typer_app import main

sys.exit(main())
