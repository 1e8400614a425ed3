"""``python -m mrambnn.cli``: the ``mrambnn`` command."""

import sys

from mrambnn.cli import main

sys.exit(main())
