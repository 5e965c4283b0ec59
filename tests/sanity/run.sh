#!/usr/bin/env bash
# Run `ansible-test sanity` on a staged copy of the collection (tests/sanity/stage.py), in
# ansible-test's own virtual environments (--venv), without docker and with empty ignore files.
# Usage: tests/sanity/run.sh STAGE_DIR [JUNIT_DIR]   (PY, SANITY_PYTHON may be set)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
stage=${1:?usage: run.sh STAGE_DIR [JUNIT_DIR]}
junit=${2:-}
py=${PY:-$root/.venv/bin/python}
"$py" "$root/tests/sanity/stage.py" "$stage"

# ansible-test downloads a get-pip script from a host this network cannot reach; it looks in
# ~/.ansible/test/cache first. Point HOME at a cache of our own and put our stand-in there.
# The sanity virtual environments (.ansible/test/venv, named by a hash of ansible-test's pinned
# requirements) and pip's downloads are cached there too. It lives in CACHE_DIR, beside the
# other build caches, so that a fresh clone does not build them again (about 150 s of the
# stage on 2 cores).
export HOME=${CACHE_DIR:-$HOME/.cache/agent-service-platform}/ansible-test-home
pip_version=$("$py" - <<'PY'
import pathlib, re, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(re.search(r"pip='([0-9.]+)'", src.read_text()).group(1))
PY
)
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/tests/sanity/get_pip_bootstrap.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

cd "$stage/ansible_collections/agent_service/platform"
rm -rf tests/output
rc=0
ansible-test sanity --venv --python "${SANITY_PYTHON:-3.11}" --junit --color no || rc=$?

# One JUnit file per sanity test. A test with nothing to look at (no PowerShell, no __init__.py)
# reports "No tests applicable." as a skip: it is left out of the results and named here.
if [[ -n "$junit" ]]; then
  mkdir -p "$junit"
  for xml in tests/output/junit/*.xml; do
    [[ -e "$xml" ]] || continue
    if grep -q '<skipped>No tests applicable.</skipped>' "$xml" && ! grep -q '<testcase[^/]*/>' "$xml"; then
      echo "sanity: $(basename "$xml" .xml) has no applicable files; not recorded"
    else
      cp "$xml" "$junit/"
    fi
  done
fi
exit $rc
