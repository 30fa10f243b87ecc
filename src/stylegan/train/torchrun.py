"""`python -m stylegan.train.torchrun ARGS`: PyTorch's torchrun, whose stop by a signal (Ctrl-C, SIGTERM, SIGHUP) ends
with status 128 + the signal's number instead of torchrun's own traceback. `stylegan train --gpus N` launches it."""

import sys

from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.run import main

if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except SignalException as e:  # Its processes were stopped (and wrote their snapshots) before this was raised.
        sys.exit(128 + int(e.sigval))
