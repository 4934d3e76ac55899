"""What the strategies share (see searches.base)."""

from ..searches.base import *  # noqa: F401,F403
from ..searches.base import free_mask, unevaluated  # noqa: F401
