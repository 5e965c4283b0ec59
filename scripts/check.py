#!/usr/bin/env python3
"""Run one command as one named test case and record it as JUnit XML.

Usage: check.py SUITE NAME -- COMMAND [ARGS...]

Non-pytest checks (helm lint, promtool, amtool, ...) go through this wrapper so
that `make test` can count every check the same way. The XML lands in
$RESULTS/SUITE/NAME.xml. The command's output is echoed; the exit code is
passed through.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

# ANSI colour sequences, then what XML 1.0 cannot hold (C0 controls but tab/newline/CR)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Text safe inside an XML element: colour codes and control characters removed."""
    return escape(NOT_XML.sub("", ANSI.sub("", text)))


def main(argv: list[str]) -> int:
    if len(argv) < 4 or "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    sep = argv.index("--")
    suite, name = argv[1], argv[2]
    cmd = argv[sep + 1:]
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    elapsed = time.monotonic() - start
    sys.stdout.write(proc.stdout)
    status = "ok" if proc.returncode == 0 else f"FAILED (rc={proc.returncode})"
    print(f"[{suite}] {name}: {status} in {elapsed:.1f}s")
    results = Path(os.environ.get("RESULTS", ".results")) / suite
    results.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    failure = ""
    if proc.returncode != 0:
        failure = f'<failure message="rc={proc.returncode}">{xml_text(proc.stdout[-20000:])}</failure>'
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<testsuite name={quoteattr(suite)} tests="1" failures="{int(bool(failure))}">'
        f'<testcase classname={quoteattr(suite)} name={quoteattr(name)} time="{elapsed:.3f}">{failure}</testcase>'
        "</testsuite>\n"
    )
    (results / f"{safe}.xml").write_text(xml)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
