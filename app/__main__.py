"""``python -m app`` starts the desktop application."""

import sys

from app.main import main

sys.exit(main())
