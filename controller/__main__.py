"""`python -m controller`: run the RouterConfig controller."""

import sys

from controller.main import main

sys.exit(main())
