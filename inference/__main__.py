"""``python -m inference``: the headless command line (see ``inference.cli``)."""

from inference.cli import main

raise SystemExit(main())
