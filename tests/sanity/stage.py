"""Copy the collection's content to DEST/ansible_collections/agent_service/platform for ansible-test.

ansible-test needs the collection at a path ending in
ansible_collections/<namespace>/<name>, and in a git checkout it tests every
tracked or untracked-but-not-ignored file. The shared checkout also holds the
app, the test bed and the chart, which are not Ansible content (the chart's
templates are not even YAML) and have their own test stages. So the sanity run
works on a staged copy holding what the collection ships as Ansible content
plus its unit and sanity tests. The file list comes from git (ignored files such
as .venv and .cache never get in), and the copy gets a git repository of its own.

Usage: stage.py DEST
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INCLUDE_TOP = {"galaxy.yml", "meta", "plugins", "roles", "playbooks", "inventories", "changelogs", "docs",
               "LICENSE", "README.md", "requirements.txt", "bindep.txt", ".ansible-lint"}
INCLUDE_TESTS = {"unit", "sanity", "config.yml"}


def wanted(path: str) -> bool:
    parts = path.split("/")
    if parts[0] == "tests":
        return len(parts) > 1 and parts[1] in INCLUDE_TESTS
    return parts[0] in INCLUDE_TOP


def main(dest: str) -> int:
    target = Path(dest).resolve() / "ansible_collections" / "agent_service" / "platform"
    if target.exists():
        shutil.rmtree(target)
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         check=True, capture_output=True).stdout.decode()
    count = 0
    for rel in sorted(p for p in out.split("\0") if p):
        src = ROOT / rel
        if not wanted(rel) or not (src.exists() or src.is_symlink()) or "__pycache__" in rel:
            continue
        dst = target / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)
        count += 1
    # The staged copy usually sits inside the (ignored) .cache of the checkout: give it its own git
    # repository so ansible-test lists its files instead of asking the outer repository, which ignores them.
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    # ansible-test writes its results and the delegation virtual environment under tests/output.
    (target / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (target / ".git" / "info" / "exclude").write_text("/tests/output/\n__pycache__/\n.hypothesis/\n")
    print(f"staged {count} files in {target}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
