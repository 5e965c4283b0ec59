"""pytest setup for the collection's unit tests.

The code is imported as ``ansible_collections.agent_service.platform`` through
the symlink that ``make collection`` creates under $ANSIBLE_COLLECTIONS_PATH
(default .cache/collections); it is created here too so that a bare
``pytest tests/unit`` works.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_DEFAULT = str(ROOT / ".cache" / "collections")
COLLECTIONS = Path(os.environ.get("ANSIBLE_COLLECTIONS_PATH", _DEFAULT).split(os.pathsep)[0])
LINK = COLLECTIONS / "ansible_collections" / "agent_service" / "platform"

if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    LINK.symlink_to(ROOT)
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

# Property tests: reproducible runs (same examples every time, no deadline on a loaded 2-core machine).
# HYPOTHESIS_PROFILE=explore draws fresh random examples.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, max_examples=300, deadline=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
