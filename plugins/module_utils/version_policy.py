# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Next-version policy, tag formats and the image tag scheme. Pure Python.

Policy (documented in the semver_next module):

- Commits since the last *stable* release decide the bump: breaking → major,
  feat → minor, fix/perf/revert → patch (see conventional_commits).
- No matching tag at all: the next version is ``first_version``.
- Only prerelease tags so far: the next version is the highest of
  ``first_version`` and the core of the newest prerelease.
- 0.x: a breaking change bumps the minor unless ``major_on_zero``.
- Prerelease channel ``<token>``: ``<core>-<token>.N`` where N counts up per
  core version over every tag of the repository (so a new tag never collides).
- Only tags matching the tag format count (``v{version}``, ``api-v{version}``).
"""

from __future__ import annotations

import re

from .semver import SEMVER_PATTERN, SemVer, SemVerError, prerelease_number, validate_token

DEFAULT_TAG_FORMAT = "v{version}"
DEFAULT_FIRST_VERSION = "0.1.0"
# Docker tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
_DOCKER_TAG_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


class TagFormat:
    """A tag format with exactly one ``{version}`` placeholder."""

    def __init__(self, fmt=DEFAULT_TAG_FORMAT):
        if not isinstance(fmt, str) or fmt.count("{version}") != 1:
            raise ValueError(f"tag format {fmt!r} must contain the placeholder {{version}} exactly once")
        prefix, suffix = fmt.split("{version}")
        if re.search(r"[\s~^:?*\[\\]", prefix + suffix):
            raise ValueError(f"tag format {fmt!r} contains characters git does not allow in tag names")
        self.format = fmt
        self._re = re.compile("^" + re.escape(prefix) + "(?P<version>" + SEMVER_PATTERN + ")" + re.escape(suffix) + "$")

    def parse(self, tag):
        """The SemVer of ``tag`` or None when the tag does not match the format."""
        match = self._re.match(tag)
        if not match:
            return None
        return SemVer.parse(match.group("version"))

    def render(self, version):
        return self.format.replace("{version}", str(version))


def plan_next_version(reachable_tags, all_tags, commit_bump, tag_format=DEFAULT_TAG_FORMAT,
                      first_version=DEFAULT_FIRST_VERSION, major_on_zero=False, prerelease_token=None):
    """Decide the next version.

    ``reachable_tags``: tag names reachable from HEAD; ``all_tags``: every tag
    name of the repository (for prerelease numbering); ``commit_bump``: the
    level the commits since the last stable release ask for.
    Returns a dict: current_version, current_tag, last_release, last_release_tag,
    bump (the part that changes), next_version, next_tag.
    """
    fmt = tag_format if isinstance(tag_format, TagFormat) else TagFormat(tag_format)
    first = SemVer.parse(first_version)
    if first.is_prerelease or first.build:
        raise SemVerError(f"first_version must be a plain MAJOR.MINOR.PATCH release, got {first_version!r}")
    if prerelease_token is not None:
        validate_token(prerelease_token)
    if commit_bump not in ("none", "patch", "minor", "major"):
        raise SemVerError(f"unknown bump level {commit_bump!r}")

    reachable = _matching(fmt, reachable_tags)
    current = max(reachable, default=None, key=lambda item: item[0])
    stable = [item for item in reachable if not item[0].is_prerelease]
    release = max(stable, default=None, key=lambda item: item[0])

    plan = dict(
        current_version=str(current[0]) if current else None,
        current_tag=current[1] if current else None,
        last_release=str(release[0]) if release else None,
        last_release_tag=release[1] if release else None,
    )
    if release is None:
        core = first
        if current is not None and current[0].core > core:
            core = current[0].core
        bump = "initial"
    elif commit_bump == "none":
        plan.update(bump="none", next_version=plan["current_version"], next_tag=plan["current_tag"])
        return plan
    else:
        bump = commit_bump
        if bump == "major" and release[0].major == 0 and not major_on_zero:
            bump = "minor"
        core = release[0].bump(bump)
        # A newer prerelease of a higher core already exists (e.g. v2.0.0-rc.1 while the
        # commits since v1.4.0 only ask for a minor): keep counting on that core.
        if current is not None and current[0].is_prerelease and current[0].core > core:
            core = current[0].core

    if prerelease_token:
        numbers = [prerelease_number(v, prerelease_token) for v, _tag in _matching(fmt, all_tags) if v.core == core]
        numbers = [n for n in numbers if n is not None]
        next_version = core.replace(prerelease=(prerelease_token, str(max(numbers, default=0) + 1)))
    else:
        next_version = core
    plan.update(bump=bump, next_version=str(next_version), next_tag=fmt.render(next_version))
    return plan


def _matching(fmt, tags):
    found = []
    for tag in tags:
        version = fmt.parse(tag)
        if version is not None:
            found.append((version, tag))
    return found


def docker_tag(text):
    """Make ``text`` a valid docker tag (the metadata-action sanitising rules)."""
    tag = _DOCKER_TAG_BAD.sub("-", text)
    tag = tag.lstrip(".-") or "x"
    return tag[:128]


def image_tags(version, branch=None, sha=None, default_branch="main", latest=True, sha_length=8, prefix=""):
    """Image tags for a release, following docker/metadata-action's semver scheme.

    Stable ``1.2.3`` → ``1.2.3``, ``1.2``, ``1`` (no ``0`` major tag), each after
    ``prefix`` (the seed's scheme: ``v1.2.3``, ``v1.2``, ``v1``), then ``latest``
    only on the default branch; a prerelease only gets its full version. With
    ``branch`` and ``sha`` the build also gets ``<branch>-<sha8>``. ``+`` (build
    metadata) is not allowed in docker tags and becomes ``-``.
    """
    ver = SemVer.coerce(version)
    if sha is not None and not re.fullmatch(r"[0-9a-fA-F]{7,64}", str(sha)):
        raise ValueError(f"sha {sha!r} is not a hexadecimal git object name")
    if not isinstance(sha_length, int) or not 4 <= sha_length <= 40:
        raise ValueError(f"sha_length must be an integer between 4 and 40, got {sha_length!r}")
    if not isinstance(prefix, str) or not re.fullmatch(r"([A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?", prefix):
        raise ValueError(f"image tag prefix {prefix!r} must be empty or up to 32 characters of a docker tag "
                         "(letters, digits, _ . -, not starting with . or -)")
    tags = [prefix + docker_tag(str(ver))]
    if not ver.is_prerelease:
        tags.append(f"{prefix}{ver.major}.{ver.minor}")
        if ver.major > 0:
            tags.append(f"{prefix}{ver.major}")
        if latest and branch is not None and branch == default_branch:
            tags.append("latest")
    if branch and sha:
        tags.append(docker_tag(f"{branch}-{str(sha)[:sha_length].lower()}"))
    seen = []
    for tag in tags:
        if tag not in seen:
            seen.append(tag)
    return seen
