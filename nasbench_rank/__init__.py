"""nasbench-rank: which architecture-performance predictor and which search strategy to trust."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("nasbench-rank")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
