"""Command line: ``python -m training prepare|train|evaluate|export|search``."""

from training.cli import main

raise SystemExit(main())
