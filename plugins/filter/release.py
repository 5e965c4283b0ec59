# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release filters: thin shells over module_utils (semver, conventional_commits, version_policy,
release_topology).

Each filter is documented in its sidecar file (semver_parse.yml, ...).
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.agent_service.platform.plugins.module_utils import (
    conventional_commits,
    release_stages,
    release_topology,
    semver,
    version_policy,
)


def _wrap(func):
    def filter_func(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            raise AnsibleFilterError(f"{func.__name__}: {exc}") from exc

    filter_func.__name__ = func.__name__
    filter_func.__doc__ = func.__doc__
    return filter_func


def _text(value, name):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    return value


def semver_parse(version):
    """A version string as a dict (major, minor, patch, prerelease, build, is_prerelease)."""
    return semver.SemVer.parse(_text(version, "the version")).to_dict()


def semver_compare(version, other):
    """-1, 0 or 1 by SemVer 2.0.0 precedence."""
    return semver.compare(_text(version, "the version"), _text(other, "the other version"))


def semver_bump(version, part, token="rc"):
    """The version after a major, minor, patch, prerelease or release bump."""
    return str(semver.bump(_text(version, "the version"), part, token))


def image_tags(version, branch=None, sha=None, default_branch="main", latest=True, sha_length=8, prefix="v"):
    """Image tags of a version (docker/metadata-action semver scheme, the seed's v prefix)."""
    return version_policy.image_tags(_text(version, "the version"), branch, sha, default_branch, latest, sha_length,
                                     prefix)


def conventional_bump(messages, minor_types=None, patch_types=None):
    """Bump level (none, patch, minor, major) of commit messages, newest first."""
    if isinstance(messages, str):
        messages = [messages]
    if not isinstance(messages, (list, tuple)):
        raise TypeError(f"conventional_bump needs a list of commit messages, got {type(messages).__name__}")
    return conventional_commits.conventional_bump(
        [_text(m, "each commit message") for m in messages],
        minor_types or conventional_commits.DEFAULT_MINOR_TYPES,
        patch_types or conventional_commits.DEFAULT_PATCH_TYPES,
    )


def satellite_values(values, main_fullname, name, traffic_group, replicas=None, migrate=False):
    """Values of a canary or blue/green colour release beside the main release."""
    return release_topology.satellite_values(values, main_fullname, name, traffic_group, replicas, migrate)


def bluegreen_shared_values(values, live_group):
    """Values of the main release under blue/green: no API or worker pods, Service on live_group."""
    return release_topology.shared_values(values, live_group)


def bluegreen_plan(live_group, release_name, main_fullname, releases=None):
    """Which colour serves and which one the next version goes to."""
    return release_topology.bluegreen_plan(release_name, main_fullname, live_group or None, releases or ())


def release_plan(values, strategy, release_name, main_fullname, traffic_group="", releases=None):
    """The main release's values under a strategy, and the strategy's plan (blue/green colours)."""
    return release_topology.release_plan(strategy, values, release_name, main_fullname, traffic_group, releases or ())


def stage_timings(results, started):
    """Seconds per stage, from the stages' results and their ``at`` stamps."""
    return release_stages.stage_timings(results, started)


def failed_stage(task_name):
    """The stage a failed task of the upgrade block belongs to (upgrade, smoke or analysis)."""
    return release_stages.failed_stage(task_name)


class FilterModule:
    def filters(self):
        return {
            f.__name__: _wrap(f)
            for f in (semver_parse, semver_compare, semver_bump, image_tags, conventional_bump,
                      satellite_values, bluegreen_shared_values, bluegreen_plan, release_plan, stage_timings,
                      failed_stage)
        }
