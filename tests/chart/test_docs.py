"""The chart README's values table is generated from values.yaml and must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_readme_values_table_is_current():
    proc = subprocess.run([sys.executable, str(HERE / "gen_readme.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
