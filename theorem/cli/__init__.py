"""``d2check``: verify the claims, measure a pulled-back gradient space, run benchmarks and experiments.

Bad input gets one line on stderr and exit code 2, before any work, never a traceback.
"""

from theorem.cli.main import main

__all__ = ["main"]
