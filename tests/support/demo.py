"""What the demo app (faultwrap/demo.py) is documented to produce."""

from __future__ import annotations

import hashlib

# The documented recipe (class, then "file:function" of each frame below FaultWrapper):
# the same on every host and in every process, so README can show it.
UNSAFE_FINGERPRINT = hashlib.sha1(b"RuntimeError\ndemo.py:__call__",
                                  usedforsecurity=False).hexdigest()
