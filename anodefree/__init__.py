"""anodefree: energetics of anode-free solid-state battery interfaces."""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version

# Optimizers and cell filters work on small matrices, where a multithreaded OpenBLAS is
# several times slower than one thread (and much worse on a busy machine). Torch models
# use their own thread pool; set OPENBLAS_NUM_THREADS yourself to override this default.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

try:
    __version__ = version("anodefree")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
