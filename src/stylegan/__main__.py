"""`python -m stylegan` (used by torchrun: `torchrun --nproc_per_node N -m stylegan train ...`)."""

import sys

from .cli import main

sys.exit(main())
