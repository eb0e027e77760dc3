"""Entry point: python -m nidc.collector <config.json>."""

import sys

from nidc.collector.main import main

sys.exit(main())
