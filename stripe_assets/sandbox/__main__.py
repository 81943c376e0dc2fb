"""`python -m stripe_assets.sandbox --port 12111 ...`: see cli.py."""

import sys

from stripe_assets.sandbox.cli import main

if __name__ == "__main__":
    sys.exit(main())
