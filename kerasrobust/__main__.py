import sys

from kerasrobust.cli import main

sys.exit(main())
