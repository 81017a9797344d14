"""``python -m dcmview_annotations`` runs the validator CLI."""

import sys

from dcmview_annotations.cli import main

sys.exit(main())
