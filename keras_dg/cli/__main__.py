"""`python -m keras_dg.cli`: the `keras-dg` command."""

import sys

from keras_dg.cli import main

sys.exit(main())
