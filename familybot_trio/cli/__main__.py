"""`python -m familybot_trio.cli ...` is `familybot-trio ...` (see familybot_trio.cli)."""

import sys

from familybot_trio.cli import main

sys.exit(main())
