# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small command runner shared by the collection's CLI-driven modules (git; helm can reuse it).

No Ansible import: the caller passes ``run_command``, a callable with the
signature of ``AnsibleModule.run_command`` restricted to
``run_command(argv, cwd=None, environ_update=None, data=None) -> (rc, stdout, stderr)``;
a module passes ``module.run_command``, tests can pass a subprocess-based one.

- Commands are argv lists, never shell strings.
- ``version()`` runs ``<binary> <version_args>`` once per binary path and caches it.
- ``FLAG_GATES`` (subclass attribute) maps a flag to the minimal version
  tuple that supports it; ``supports(flag)`` reads it.
- A non-zero exit raises CommandError with rc, stdout, stderr and the command;
  ``to_result()`` gives the keys a module passes to ``fail_json``.
"""

from __future__ import annotations

import re
import subprocess

_VERSION_CACHE = {}
_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


class CommandError(Exception):
    def __init__(self, msg, rc=None, stdout="", stderr="", command=None):
        super().__init__(msg)
        self.msg = msg
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.command = command

    def to_result(self):
        return dict(msg=self.msg, rc=self.rc, stdout=self.stdout, stderr=self.stderr, command=self.command)


def subprocess_run_command(argv, cwd=None, environ_update=None, data=None):
    """A ``run_command`` for code that runs outside a module (filters, tests, benchmarks)."""
    import os

    env = dict(os.environ)
    env.update(environ_update or {})
    proc = subprocess.run(argv, cwd=cwd, env=env, input=data, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


class CommandRunner:
    """Runs one binary with argv lists and reports failures uniformly."""

    version_args = ("--version",)
    FLAG_GATES = {}

    def __init__(self, binary, run_command, environ_update=None):
        if not binary:
            raise CommandError("no binary given to the command runner")
        self.binary = binary
        self._run_command = run_command
        self.environ_update = dict(environ_update or {})

    def run(self, args, cwd=None, check=True, data=None, environ_update=None):
        argv = [self.binary] + [str(a) for a in args]
        env = dict(self.environ_update)
        env.update(environ_update or {})
        rc, out, err = self._run_command(argv, cwd=cwd, environ_update=env or None, data=data)
        if check and rc != 0:
            first = (err or out).strip().splitlines()
            detail = first[-1] if first else "no output"
            raise CommandError(f"{' '.join(argv[:3])}... failed (rc={rc}): {detail}", rc, out, err, argv)
        return rc, out, err

    def version(self):
        """The binary's version as a tuple of 3 ints (cached per binary path)."""
        if self.binary not in _VERSION_CACHE:
            _rc, out, err = self.run(list(self.version_args))
            match = _VERSION_RE.search(out or err)
            if not match:
                raise CommandError(f"cannot read the version of {self.binary} from {out or err!r}",
                                   command=[self.binary] + list(self.version_args))
            _VERSION_CACHE[self.binary] = tuple(int(p or 0) for p in match.groups())
        return _VERSION_CACHE[self.binary]

    def supports(self, flag):
        minimum = self.FLAG_GATES.get(flag)
        return minimum is None or self.version() >= minimum
