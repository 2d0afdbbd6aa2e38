"""``python -m openlic``: the same as the ``openlic`` command."""

import sys

from openlic.cli import main

sys.exit(main())
