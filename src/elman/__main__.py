"""``python -m elman``: the same as the ``elman`` command."""

import sys

from .cli.main import main

sys.exit(main())
