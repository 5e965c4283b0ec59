#!/usr/bin/env python3
"""Write, or check, the chart's generated files. `make generate` and `make generate-check` call this.

Each generated file is rendered from values.yaml (and its template) into memory first: the
default run writes the files that differ, --check writes nothing and fails naming every file
whose committed content differs from what this run renders.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_values_schema  # noqa: E402

CHART = Path(__file__).resolve().parents[1]


def helm_docs(chart: Path) -> str:
    """README.md from README.md.gotmpl and the `# --` comments of values.yaml (helm-docs)."""
    binary = os.environ.get("HELM_DOCS_BIN") or shutil.which("helm-docs")
    if not binary:
        raise SystemExit("helm-docs not found: run `make gotools` or set HELM_DOCS_BIN")
    template = chart / "README.md.gotmpl"
    if not template.is_file():
        # helm-docs would fall back to its default template without a word
        raise SystemExit(f"{template} is missing")
    proc = subprocess.run(
        [binary, "--dry-run", "--log-level", "warning", "--chart-search-root", str(chart),
         "--template-files", str(template), "--sort-values-order", "file"],
        capture_output=True, text=True, check=False,
    )
    # helm-docs logs template errors as warnings and still exits 0: any log line is a failure
    if proc.returncode != 0 or proc.stderr.strip() or not proc.stdout.strip():
        raise SystemExit(f"helm-docs failed (rc={proc.returncode}):\n{proc.stderr}")
    return proc.stdout


# generated file (relative to the chart) -> renderer
GENERATORS = {
    "values.schema.json": lambda chart: gen_values_schema.render(chart / "values.yaml"),
    "README.md": helm_docs,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; fail when a file is stale")
    parser.add_argument("--chart", type=Path, default=CHART, help="chart directory (default: %(default)s)")
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help=f"only these generated files (default: all of {', '.join(GENERATORS)})")
    args = parser.parse_args()
    unknown = set(args.files) - set(GENERATORS)
    if unknown:
        parser.error(f"not a generated file: {', '.join(sorted(unknown))}")
    chart = args.chart.resolve()
    stale = []
    for name in args.files or GENERATORS:
        path = chart / name
        want = GENERATORS[name](chart)
        have = path.read_text() if path.exists() else ""
        if have == want:
            continue
        if args.check:
            stale.append(path)
            diff = difflib.unified_diff(have.splitlines(), want.splitlines(), f"{name} (committed)",
                                        f"{name} (generated)", lineterm="", n=1)
            print("\n".join(list(diff)[:40]), file=sys.stderr)
        else:
            path.write_text(want)
            print(f"generate: wrote {path}")
    for path in stale:
        print(f"generate-check: {path} is stale: run `make generate` and commit the result", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
