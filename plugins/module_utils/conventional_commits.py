# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Conventional Commits 1.0.0 parser and the bump level of a commit history.

Pure Python, no Ansible imports.

- Header ``type(scope)!: description``; ``!`` marks a breaking change.
- Footers ``Token: value`` or ``Token #value`` in the last paragraph.
- A line of the body that starts with ``BREAKING CHANGE:`` or
  ``BREAKING-CHANGE:`` marks a breaking change, even without ``!`` and even
  when other paragraphs follow it (as semantic-release and
  python-semantic-release read it); its note runs to the end of its
  paragraph. The words inside a sentence do not count.
- Reverts: ``revert: <header>`` or git's ``Revert "<header>"``, also with
  GitHub's `` (#123)`` suffix, with the reverted sha taken from
  ``This reverts commit <sha>.`` (or ``Refs: <sha>``). A revert whose target
  is in the same range cancels it (both are dropped); otherwise the revert
  itself is a patch. Matching reverts to their targets is linear in the
  number of commits.
- Merge commits (more than one parent, or a ``Merge ...`` subject) are ignored
  unless asked for.
- Scope ``no-release`` never causes a release.
"""

from __future__ import annotations

import re
from collections import deque

from .semver import max_level

DEFAULT_MINOR_TYPES = ("feat",)
DEFAULT_PATCH_TYPES = ("fix", "perf")

_HEADER_RE = re.compile(
    r"^(?P<type>[A-Za-z][A-Za-z0-9_-]*)(?:\((?P<scope>[^()\r\n]*)\))?(?P<bang>!)?: (?P<description>\S.*)$"
)
_FOOTER_RE = re.compile(r"^(?P<token>BREAKING CHANGE|BREAKING-CHANGE|[A-Za-z][A-Za-z0-9-]*)(?::[ ]|[ ]#)(?P<value>.*)$")
_GIT_REVERT_RE = re.compile(r'^Revert "(?P<header>.*)"(?: \(#\d+\))?$')
_SHORT_SHA_RE = re.compile(r"[0-9a-fA-F]{4,40}")
_BREAKING_LINE_RE = re.compile(r"^(?:BREAKING CHANGE|BREAKING-CHANGE): (?P<note>.*)$")
_REVERTS_SHA_RE = re.compile(r"This reverts commit (?P<sha>[0-9a-fA-F]{7,40})")
_MERGE_SUBJECT_RE = re.compile(r"^Merge (?:branch|pull request|remote-tracking branch|tag|commit) ")
BREAKING_TOKENS = ("BREAKING CHANGE", "BREAKING-CHANGE")

# Changelog sections in the order they are printed.
CHANGELOG_SECTIONS = (
    ("feat", "Features"),
    ("fix", "Bug Fixes"),
    ("perf", "Performance Improvements"),
    ("revert", "Reverts"),
)


class Commit:
    """One commit as read from git: sha, parents and the raw message."""

    __slots__ = ("sha", "parents", "message")

    def __init__(self, sha, message, parents=()):
        self.sha = sha
        self.message = message
        self.parents = tuple(parents)


def _split_footers(lines):
    """Split body lines into (body_lines, footers) following the spec's footer rules."""
    # Footers live in the last paragraph; that paragraph must start with a footer token.
    last_blank = max((i for i, line in enumerate(lines) if not line.strip()), default=-1)
    tail = lines[last_blank + 1:]
    if not tail or not _FOOTER_RE.match(tail[0]):
        return lines, []
    footers = []
    for line in tail:
        match = _FOOTER_RE.match(line)
        if match:
            footers.append([match.group("token"), match.group("value")])
        else:  # continuation of the previous footer value
            footers[-1][1] += "\n" + line
    return lines[:last_blank + 1], [(t, v.strip()) for t, v in footers]


def parse_message(message):
    """Parse one commit message.

    Returns a dict with ``type``, ``scope``, ``description``, ``breaking``,
    ``breaking_notes``, ``footers`` (list of [token, value]), ``body``,
    ``conventional`` (header matched the spec), ``revert_of`` (header or sha
    data for reverts) and ``subject``.
    """
    if not isinstance(message, str):
        raise TypeError(f"a commit message must be a string, got {type(message).__name__}")
    lines = message.strip("\n").splitlines()
    subject = lines[0].strip() if lines else ""
    rest = lines[1:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    body_lines, footers = _split_footers(rest)
    result = dict(
        subject=subject, type=None, scope=None, description=subject, breaking=False,
        breaking_notes=[], footers=[list(f) for f in footers], body="\n".join(body_lines).strip(),
        conventional=False, revert=None,
    )
    match = _HEADER_RE.match(subject)
    if match:
        result.update(
            type=match.group("type").lower(),
            scope=match.group("scope") or None,
            description=match.group("description").strip(),
            conventional=True,
        )
        if match.group("bang"):
            result["breaking"] = True
    notes = _breaking_notes(rest)
    if notes:
        result["breaking"] = True
        result["breaking_notes"] = notes
    elif result["breaking"] and result["conventional"]:
        result["breaking_notes"] = [result["description"]]

    git_revert = _GIT_REVERT_RE.match(subject)
    if git_revert or result["type"] == "revert":
        sha_match = _REVERTS_SHA_RE.search(message)
        refs = [v for t, v in footers if t.lower() == "refs"]
        ref = refs[0].replace(",", " ").split()[0] if refs and refs[0].strip() else ""
        # a Refs: footer names shas ("Refs: 676104e, a215868"); "Refs: #123" is an issue, not a sha
        reverted_sha = sha_match.group("sha") if sha_match else (ref if _SHORT_SHA_RE.fullmatch(ref) else None)
        reverted_header = git_revert.group("header") if git_revert else result["description"]
        result["revert"] = dict(sha=reverted_sha, header=reverted_header)
        result["type"] = "revert"
        if git_revert:
            result["description"] = reverted_header
    return result


def _breaking_notes(lines):
    """The notes of the lines that start with a breaking-change token, each to the end of its paragraph."""
    notes, current = [], None
    for line in lines:
        match = _BREAKING_LINE_RE.match(line)
        if match:
            current = [match.group("note")]
            notes.append(current)
        elif not line.strip():
            current = None
        elif current is not None and not _FOOTER_RE.match(line):
            current.append(line)
        else:
            current = None
    return ["\n".join(note).strip() for note in notes]


def is_merge(commit):
    return len(commit.parents) > 1 or bool(_MERGE_SUBJECT_RE.match(commit.message))


def classify(commits, minor_types=DEFAULT_MINOR_TYPES, patch_types=DEFAULT_PATCH_TYPES, include_merges=False):
    """Classify commits (newest first, as ``git log`` prints them).

    Returns a list of dicts (same order) with the parsed fields plus ``sha``,
    ``bump`` (``none|patch|minor|major``) and ``ignored`` (None, ``merge``,
    ``reverted``, ``reverts-in-range`` or ``no-release``).
    """
    minor_types = tuple(t.lower() for t in minor_types)
    patch_types = tuple(t.lower() for t in patch_types)
    overlap = set(minor_types) & set(patch_types)
    if overlap:
        raise ValueError(f"commit types listed both as minor and as patch: {', '.join(sorted(overlap))}")
    entries = []
    for commit in commits:
        info = parse_message(commit.message)
        info["sha"] = commit.sha
        info["ignored"] = None
        if is_merge(commit) and not include_merges:
            info["ignored"] = "merge"
        elif info["scope"] == "no-release":
            info["ignored"] = "no-release"
        entries.append(info)

    _cancel_reverts(entries)
    for entry in entries:
        entry["bump"] = "none" if entry["ignored"] else _commit_level(entry, minor_types, patch_types)
    return entries


SHA_KEY = 7  # the shortest sha a revert names (This reverts commit <7-40 hex>)
FULL_SHA = 40


def _cancel_reverts(entries):
    """Drop each revert with the commit it reverts when both are in the range.

    Newest revert first, each takes the nearest older commit that is not dropped: by sha prefix
    when the revert names a sha, else by header. The candidates wait in queues per full sha, per
    sha prefix and per header, nearest first; a revert pops from the front what is newer than itself or
    already dropped, which no older revert can take either, so each commit leaves a queue once.
    """
    by_full, by_sha, by_subject = {}, {}, {}
    for position, entry in enumerate(entries):
        by_full.setdefault(entry["sha"], deque()).append(position)
        by_sha.setdefault(entry["sha"][:SHA_KEY], deque()).append(position)
        by_subject.setdefault(entry["subject"], deque()).append(position)
    for position, entry in enumerate(entries):
        revert = entry["revert"]
        if not revert or entry["ignored"]:
            continue
        sha = revert["sha"]
        if sha and len(sha) == FULL_SHA:
            target = _nearest(entries, by_full.get(sha), position, lambda e: True)
        elif sha and len(sha) >= SHA_KEY:
            target = _nearest(entries, by_sha.get(sha[:SHA_KEY]), position,
                              lambda e, sha=sha: e["sha"].startswith(sha) or sha.startswith(e["sha"]))
        elif sha:  # a short sha from a Refs: footer
            target = next((e for e in entries[position + 1:] if not e["ignored"]
                           and (e["sha"].startswith(sha) or sha.startswith(e["sha"]))), None)
        else:
            target = _nearest(entries, by_subject.get(revert["header"]), position, lambda e: True)
        if target is not None:
            target["ignored"] = "reverted"
            entry["ignored"] = "reverts-in-range"


def _nearest(entries, queue, position, matches):
    """The nearest entry older than position in queue that is not dropped and matches."""
    if not queue:
        return None
    while queue and (queue[0] <= position or entries[queue[0]]["ignored"]):
        queue.popleft()
    return next((entries[q] for q in queue if not entries[q]["ignored"] and matches(entries[q])), None)


def _commit_level(entry, minor_types, patch_types):
    if entry["breaking"]:
        return "major"
    if entry["type"] in minor_types:
        return "minor"
    if entry["type"] in patch_types or entry["type"] == "revert":
        return "patch"
    return "none"


def bump_level(entries):
    """Highest bump of classified entries."""
    return max_level(e["bump"] for e in entries)


def conventional_bump(messages, minor_types=DEFAULT_MINOR_TYPES, patch_types=DEFAULT_PATCH_TYPES):
    """Bump level of a list of commit messages (newest first), reverts paired by header."""
    commits = [Commit(f"msg{i}", m) for i, m in enumerate(messages)]
    return bump_level(classify(commits, minor_types, patch_types))


def changelog_markdown(version, entries, title_date=None):
    """A Markdown changelog for ``version`` grouped by commit type."""
    heading = f"## {version}" + (f" ({title_date})" if title_date else "")
    out = [heading, ""]
    live = [e for e in entries if not e["ignored"]]
    breaking = [e for e in live if e["breaking"]]
    if breaking:
        out.append("### BREAKING CHANGES")
        out.append("")
        for entry in breaking:
            for note in entry["breaking_notes"]:
                out.append(f"- {_scope(entry)}{note} ({entry['sha'][:8]})")
        out.append("")
    for commit_type, title in CHANGELOG_SECTIONS:
        items = [e for e in live if e["type"] == commit_type]
        if not items:
            continue
        out.append(f"### {title}")
        out.append("")
        out.extend(f"- {_scope(e)}{e['description']} ({e['sha'][:8]})" for e in items)
        out.append("")
    known = {section[0] for section in CHANGELOG_SECTIONS}
    other = [e for e in live if e["type"] not in known and e["bump"] != "none"]
    if other:
        out.append("### Other Changes")
        out.append("")
        out.extend(f"- {_scope(e)}{e['description']} ({e['sha'][:8]})" for e in other)
        out.append("")
    if len(out) == 2:
        out.append("No notable changes.")
        out.append("")
    return "\n".join(out)


def _scope(entry):
    return f"**{entry['scope']}:** " if entry["scope"] else ""
