# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the semver_next module does, without Ansible: read the repository, plan, optionally tag."""

from __future__ import annotations

from .conventional_commits import bump_level, changelog_markdown, classify
from .git import GitError
from .version_policy import TagFormat, image_tags, plan_next_version

DEFAULTS = dict(
    rev="HEAD", tag_format="v{version}", first_version="0.1.0", major_on_zero=False, prerelease=False,
    prerelease_token="rc", include_merges=False, minor_types=["feat"], patch_types=["fix", "perf"],
    branch=None, default_branch="main", sha_length=8, image_tag_prefix="v", create_tag=False, annotated=True,
    tag_message="Release {version}", allow_dirty=False,
)


def _public(entry):
    keys = ("sha", "subject", "type", "scope", "description", "breaking", "breaking_notes", "bump", "ignored")
    item = {k: entry[k] for k in keys}
    item["revert"] = entry["revert"]
    return item


def plan_release(repo, options):
    """Return the module result (without ``changed``) for ``repo`` (a git.GitRepo)."""
    opts = dict(DEFAULTS)
    opts.update({k: v for k, v in options.items() if v is not None})
    fmt = TagFormat(opts["tag_format"])
    head = repo.resolve(opts["rev"])
    reachable = repo.tags(merged_into=head)
    all_tags = repo.tags()

    release_tag = _last_release_tag(fmt, reachable)
    commits = repo.commits(since=release_tag, until=head)
    entries = classify(commits, opts["minor_types"], opts["patch_types"], opts["include_merges"])
    commit_bump = bump_level(entries)
    token = opts["prerelease_token"] if opts["prerelease"] else None
    plan = plan_next_version(reachable, all_tags, commit_bump, fmt, opts["first_version"],
                             opts["major_on_zero"], token)
    branch = opts["branch"] or repo.branch()
    tags = image_tags(plan["next_version"], branch, head, opts["default_branch"], sha_length=opts["sha_length"],
                      prefix=opts["image_tag_prefix"])
    result = dict(plan)
    result.update(
        commit_bump=commit_bump,
        sha=head,
        branch=branch,
        dirty=repo.is_dirty(),
        commits=[_public(e) for e in entries],
        image_tags=tags,
        version_tag=tags[0],
        changelog=changelog_markdown(plan["next_version"], entries),
        released=plan["bump"] != "none",
        tag_created=False,
    )
    return result


def _last_release_tag(fmt, tags):
    best = None
    for tag in tags:
        version = fmt.parse(tag)
        if version is not None and not version.is_prerelease and (best is None or version > best[0]):
            best = (version, tag)
    return best[1] if best else None


def ensure_tag(repo, result, options, check_mode):
    """Create ``result['next_tag']`` on ``result['sha']``; returns True when it changed the repository.

    Idempotent: an existing tag on the same commit changes nothing; an existing
    tag on another commit is an error. A dirty work tree is refused unless
    ``allow_dirty``.
    """
    opts = dict(DEFAULTS)
    opts.update({k: v for k, v in options.items() if v is not None})
    if not result["released"]:
        return False
    tag = result["next_tag"]
    target = repo.tag_target(tag)
    if target == result["sha"]:
        return False
    if target is not None:
        raise GitError(f"tag {tag} already exists on commit {target[:12]}, not on {result['sha'][:12]};"
                       " refusing to move it")
    if result["dirty"] and not opts["allow_dirty"]:
        raise GitError(f"the work tree of {repo.toplevel} has uncommitted changes; commit them or set"
                       " allow_dirty=true before creating a release tag")
    if not check_mode:
        message = opts["tag_message"].replace("{version}", result["next_version"]) if opts["annotated"] else None
        repo.create_tag(tag, result["sha"], message)
    return True
