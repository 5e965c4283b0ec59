"""Run an Ansible module's main() in-process with real arguments and return its JSON result."""

from __future__ import annotations

import contextlib
import io
import json

from ansible.module_utils.testing import patch_module_args


def run_module(module, args, check_mode=False):
    """Returns (result dict, failed bool)."""
    args = dict(args)
    if check_mode:
        args["_ansible_check_mode"] = True
    out = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    result = json.loads(out.getvalue())
    return result, bool(result.get("failed"))
