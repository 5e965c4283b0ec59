#!/usr/bin/env bash
# Run `ansible-test sanity` on a staged copy of the collection (tests/sanity/stage.py), in
# ansible-test's own virtual environments (--venv), without docker and with empty ignore files.
# Usage: tests/sanity/run.sh STAGE_DIR   (PY, SANITY_PYTHON may be set)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
stage=${1:?usage: run.sh STAGE_DIR}
py=${PY:-$root/.venv/bin/python}
"$py" "$root/tests/sanity/stage.py" "$stage"

# ansible-test downloads a get-pip script from a host this network cannot reach; it looks in
# ~/.ansible/test/cache first. Point HOME at a cache inside the checkout and put our stand-in there.
export HOME=$root/.cache/ansible-test-home
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
exec ansible-test sanity --venv --python "${SANITY_PYTHON:-3.11}" --junit --color no
