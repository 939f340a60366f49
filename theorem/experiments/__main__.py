"""``python -m theorem.experiments``: see :mod:`theorem.experiments.command`."""

import sys

from theorem.experiments.command import main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("experiments: interrupted", file=sys.stderr)
        sys.exit(130)
