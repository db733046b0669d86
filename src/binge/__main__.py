import sys

from binge.cli import main

sys.exit(main())
