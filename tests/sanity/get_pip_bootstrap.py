"""Offline stand-in for the get-pip script that ``ansible-test --venv`` downloads.

ansible-test creates its virtual environments without pip and fetches a
bootstrap script from ci-files.testing.ansible.com, which this network does not
reach. ``make sanity`` copies this file to the cache path ansible-test checks
first. It does the same job with what is at hand: ``ensurepip`` (standard
library) installs the bundled pip, then that pip installs the exact packages
ansible-test asked for (for example ``pip==24.2``) from PyPI.
"""

from __future__ import annotations

import ensurepip
import os
import subprocess
import sys


def main() -> None:
    args = sys.argv[1:]
    ensurepip.bootstrap(upgrade=True)
    packages = [arg for arg in args if not arg.startswith("-")]
    options = [arg for arg in args if arg in ("--disable-pip-version-check",)]
    # ensurepip sets PIP_CONFIG_FILE=/dev/null in this process; the real install must see pip's
    # configuration (index, certificate bundle) like any other pip run on this machine.
    env = {k: v for k, v in os.environ.items() if k != "PIP_CONFIG_FILE"}
    if packages:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *options, *packages], env=env)


if __name__ == "__main__":
    main()
