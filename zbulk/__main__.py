import sys

from zbulk.cli import main

sys.exit(main())
