# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a git repository (tags, commits, state) and create tags, through runner.CommandRunner.

No Ansible import. One ``git log`` reads every commit of a range, so a
10,000-commit history costs one process.
"""

from __future__ import annotations

import os

from .conventional_commits import Commit
from .runner import CommandError, CommandRunner

_FIELD = "\x1f"
_RECORD = "\x1e"


class GitError(CommandError):
    pass


class GitRunner(CommandRunner):
    version_args = ("--version",)
    # git >= 2.13 for `tag --merged` with a pattern list; `for-each-ref` with %(objecttype) is older.
    FLAG_GATES = {"--merged": (2, 7, 0)}


class GitRepo:
    def __init__(self, runner, path):
        self.runner = runner
        if not os.path.isdir(path):
            raise GitError(f"path {path} does not exist or is not a directory")
        self.path = path
        rc, out, err = runner.run(["rev-parse", "--show-toplevel"], cwd=path, check=False)
        if rc != 0:
            raise GitError(f"path {path} is not inside a git work tree: {(err or out).strip()}", rc, out, err,
                           [runner.binary, "rev-parse", "--show-toplevel"])
        self.toplevel = out.strip()

    def git(self, *args, check=True):
        try:
            return self.runner.run(list(args), cwd=self.path, check=check)[1]
        except CommandError as exc:
            raise GitError(exc.msg, exc.rc, exc.stdout, exc.stderr, exc.command) from exc

    def resolve(self, rev="HEAD"):
        rc, out, _err = self.runner.run(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=self.path,
                                        check=False)
        if rc != 0:
            raise GitError(f"revision {rev!r} does not name a commit in {self.toplevel}"
                           " (an empty repository has no HEAD yet)", rc, out, "", None)
        return out.strip()

    def branch(self):
        """The checked-out branch name, or None on a detached HEAD."""
        rc, out, _err = self.runner.run(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=self.path, check=False)
        return out.strip() if rc == 0 else None

    def is_dirty(self):
        return bool(self.git("status", "--porcelain", "--untracked-files=no").strip())

    def tags(self, merged_into=None):
        """Tag names; only those reachable from ``merged_into`` when given."""
        args = ["tag", "--list"]
        if merged_into:
            args += ["--merged", merged_into]
        return [t for t in self.git(*args).splitlines() if t]

    def tag_target(self, tag):
        """Commit sha the tag points to (peeled), or None when the tag does not exist."""
        rc, out, _err = self.runner.run(["rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}"],
                                        cwd=self.path, check=False)
        return out.strip() if rc == 0 else None

    def tag_type(self, tag):
        """``tag`` for an annotated tag, ``commit`` for a lightweight one."""
        return self.git("cat-file", "-t", f"refs/tags/{tag}").strip()

    def commits(self, since=None, until="HEAD"):
        """Commits in ``since..until`` (all of ``until`` when since is None), newest first."""
        rev_range = f"{since}..{until}" if since else until
        out = self.git("log", f"--format=%H{_FIELD}%P{_FIELD}%B{_RECORD}", rev_range)
        commits = []
        for record in out.split(_RECORD):
            record = record.strip("\n")
            if not record:
                continue
            sha, parents, message = record.split(_FIELD, 2)
            commits.append(Commit(sha, message.strip("\n"), parents.split()))
        return commits

    def create_tag(self, tag, rev="HEAD", message=None):
        """Annotated tag when ``message`` is given, lightweight otherwise."""
        if message is not None:
            self.git("tag", "--annotate", "--message", message, tag, rev)
        else:
            self.git("tag", tag, rev)
