"""``python -m registration_fsm.cli``: the same as the ``registration-fsm`` command."""

import sys

from registration_fsm.cli import main

sys.exit(main())
