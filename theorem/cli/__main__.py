import sys

from theorem.cli.main import main

sys.exit(main())
