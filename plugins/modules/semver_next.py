#!/usr/bin/python
# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: semver_next
short_description: Compute the next semantic version of a git repository from its Conventional Commits
version_added: 1.0.0
author:
  - agent_service.platform contributors (@agent-service)
description:
  - Finds the newest tag reachable from O(rev) that matches O(tag_format); tags of other branches and tags that
    do not match the format do not count.
  - Classifies the commits since the last stable release tag as Conventional Commits and derives the bump
    (breaking change V(major), C(feat) V(minor), C(fix)/C(perf)/reverts V(patch)).
  - Returns the current and next version, the classified commits, the image tags
    (docker/metadata-action scheme) and a Markdown changelog grouped by commit type.
  - With O(create_tag=true) it tags O(rev) with the next version. Running it again changes nothing, because the
    tagged commit then has no unreleased commits.
  - "Policy: with no matching tag the next version is O(first_version) (or the core of the newest prerelease tag
    when that is higher); on 0.x a breaking change bumps the minor unless O(major_on_zero=true); a reverted
    commit and its revert cancel each other when both are in the range; merge commits are ignored unless
    O(include_merges=true); the scope C(no-release) never releases."
  - "Prerelease channel: with O(prerelease=true) the next version is C(<core>-<prerelease_token>.N), N counting
    up per core version over every tag of the repository."
requirements:
  - git on the host that runs the module
options:
  path:
    description: Directory inside the git work tree to read.
    type: path
    required: true
  rev:
    description: Commit to release, any git revision.
    type: str
    default: HEAD
  tag_format:
    description:
      - Tag name pattern with one C({version}) placeholder. Use a prefix per component in a monorepo,
        for example V(api-v{version}).
    type: str
    default: v{version}
  first_version:
    description: Version of the first release, when no tag matches O(tag_format).
    type: str
    default: 0.1.0
  major_on_zero:
    description: On a 0.x version, let a breaking change bump the major (to 1.0.0) instead of the minor.
    type: bool
    default: false
  prerelease:
    description: Produce a prerelease C(<core>-<prerelease_token>.N) instead of a release.
    type: bool
    default: false
  prerelease_token:
    description: Prerelease channel name.
    type: str
    default: rc
  include_merges:
    description: Classify merge commits too. By default they are ignored (their parents are counted).
    type: bool
    default: false
  minor_types:
    description: Commit types that bump the minor version.
    type: list
    elements: str
    default: [feat]
  patch_types:
    description: Commit types that bump the patch version (reverts always do).
    type: list
    elements: str
    default: [fix, perf]
  branch:
    description:
      - Branch name used for the C(<branch>-<sha>) image tag and to decide on C(latest).
      - Defaults to the checked-out branch; set it on a detached HEAD (CI checkouts).
    type: str
  default_branch:
    description: Only a stable release built on this branch gets the C(latest) image tag.
    type: str
    default: main
  sha_length:
    description: Characters of the commit sha in the C(<branch>-<sha>) image tag.
    type: int
    default: 8
  image_tag_prefix:
    description:
      - Put before the version image tags (C(v1.2.3), C(v1.2), C(v1)), as in the seed's tag scheme.
      - Empty for bare versions (C(1.2.3)).
      - Up to 32 characters that a docker tag allows, not starting with C(.) or C(-).
    type: str
    default: v
  create_tag:
    description:
      - Create the tag RV(next_tag) on O(rev) when there is something to release.
      - An existing tag on another commit is an error; a dirty work tree is refused unless O(allow_dirty=true).
    type: bool
    default: false
  annotated:
    description: Create an annotated tag (with O(tag_message)); otherwise a lightweight one.
    type: bool
    default: true
  tag_message:
    description: Message of an annotated tag; C({version}) is replaced by the version.
    type: str
    default: Release {version}
  allow_dirty:
    description: Allow O(create_tag) with uncommitted changes to tracked files.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: In check mode the tag is not created; C(changed) tells whether it would be.
  diff_mode:
    support: none
    description: The module returns no diff.
notes:
  - The module only reads the repository unless O(create_tag=true). It does not push tags.
seealso:
  - name: Semantic Versioning 2.0.0
    description: Version syntax and precedence.
    link: https://semver.org/spec/v2.0.0.html
  - name: Conventional Commits 1.0.0
    description: Commit message structure.
    link: https://www.conventionalcommits.org/en/v1.0.0/
"""

EXAMPLES = r"""
- name: Compute the next version of the checkout
  agent_service.platform.semver_next:
    path: "{{ playbook_dir }}/.."
  register: version

- name: Show it
  ansible.builtin.debug:
    msg: "{{ version.current_version }} -> {{ version.next_version }} ({{ version.bump }}): {{ version.image_tags }}"

- name: Release candidate of the api component of a monorepo, tagged
  agent_service.platform.semver_next:
    path: /src/monorepo
    tag_format: api-v{version}
    prerelease: true
    create_tag: true
    branch: "{{ lookup('ansible.builtin.env', 'GITHUB_REF_NAME') }}"
"""

RETURN = r"""
current_version:
  description: Version of the newest matching tag reachable from O(rev) (may be a prerelease); null without tags.
  returned: always
  type: str
  sample: 1.4.0
current_tag:
  description: That tag's name.
  returned: always
  type: str
  sample: v1.4.0
last_release:
  description: Newest stable (non-prerelease) version reachable from O(rev); the commits are counted from it.
  returned: always
  type: str
  sample: 1.4.0
last_release_tag:
  description: That tag's name.
  returned: always
  type: str
  sample: v1.4.0
next_version:
  description: The version to release; equals RV(current_version) when RV(bump=none).
  returned: always
  type: str
  sample: 1.5.0
next_tag:
  description: Tag name of RV(next_version).
  returned: always
  type: str
  sample: v1.5.0
bump:
  description:
    - Part that changes, after the 0.x policy. V(initial) for the first release, V(none) when nothing is released.
  returned: always
  type: str
  sample: minor
commit_bump:
  description: Bump the commits ask for before the 0.x policy (V(none), V(patch), V(minor), V(major)).
  returned: always
  type: str
  sample: minor
released:
  description: Whether there is something to release (RV(bump) is not V(none)).
  returned: always
  type: bool
commits:
  description: Commits since RV(last_release_tag), newest first, classified.
  returned: always
  type: list
  elements: dict
  contains:
    sha:
      description: Full commit sha.
      type: str
    subject:
      description: First line of the message.
      type: str
    type:
      description: Conventional Commits type (lower case), V(revert) for reverts, null when not conventional.
      type: str
    scope:
      description: Scope, or null.
      type: str
    description:
      description: Text after the colon of the header.
      type: str
    breaking:
      description: C(!) in the header or a C(BREAKING CHANGE)/C(BREAKING-CHANGE) footer.
      type: bool
    breaking_notes:
      description: Texts of the breaking change footers (or the description for a bare C(!)).
      type: list
      elements: str
    bump:
      description: Bump level of this commit.
      type: str
    ignored:
      description: Why the commit does not count (V(merge), V(reverted), V(reverts-in-range), V(no-release)), or null.
      type: str
    revert:
      description: For reverts, the reverted C(sha) (if known) and C(header), else null.
      type: dict
  sample:
    - sha: 3f0c2b1e9d8a7c6b5a4f3e2d1c0b9a8f7e6d5c4b
      subject: "feat(api): stream agent responses"
      type: feat
      scope: api
      description: stream agent responses
      breaking: false
      breaking_notes: []
      bump: minor
      ignored: null
      revert: null
image_tags:
  description: Image tags for RV(next_version) (full version, C(major.minor), C(major) unless 0, each after
    O(image_tag_prefix); C(latest) on the default branch for stable releases; C(<branch>-<sha>)).
  returned: always
  type: list
  elements: str
  sample: [v1.5.0, v1.5, v1, latest, main-3f0c2b1e]
version_tag:
  description: The image tag of the full version, O(image_tag_prefix) then RV(next_version); the tag to deploy.
  returned: always
  type: str
  sample: v1.5.0
changelog:
  description: Markdown changelog of RV(next_version), grouped by type, breaking changes first.
  returned: always
  type: str
sha:
  description: Commit that O(rev) resolves to.
  returned: always
  type: str
branch:
  description: Branch used for image tags (O(branch) or the checked-out branch; null on a detached HEAD).
  returned: always
  type: str
dirty:
  description: Whether tracked files have uncommitted changes.
  returned: always
  type: bool
tag_created:
  description: Whether the module created RV(next_tag) (false in check mode).
  returned: always
  type: bool
"""

import copy

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.agent_service.platform.plugins.module_utils.git import GitRepo, GitRunner
from ansible_collections.agent_service.platform.plugins.module_utils.release_plan import ensure_tag, plan_release
from ansible_collections.agent_service.platform.plugins.module_utils.runner import CommandError

SPEC = dict(
    path=dict(type="path", required=True),
    rev=dict(type="str", default="HEAD"),
    tag_format=dict(type="str", default="v{version}"),
    first_version=dict(type="str", default="0.1.0"),
    major_on_zero=dict(type="bool", default=False),
    prerelease=dict(type="bool", default=False),
    prerelease_token=dict(type="str", default="rc", no_log=False),
    include_merges=dict(type="bool", default=False),
    minor_types=dict(type="list", elements="str", default=["feat"]),
    patch_types=dict(type="list", elements="str", default=["fix", "perf"]),
    branch=dict(type="str"),
    default_branch=dict(type="str", default="main"),
    sha_length=dict(type="int", default=8),
    image_tag_prefix=dict(type="str", default="v"),
    create_tag=dict(type="bool", default=False),
    annotated=dict(type="bool", default=True),
    tag_message=dict(type="str", default="Release {version}"),
    allow_dirty=dict(type="bool", default=False),
)


def run_semver_next(module):
    runner = GitRunner(module.get_bin_path("git", required=True), module.run_command, {"LC_ALL": "C"})
    repo = GitRepo(runner, module.params["path"])
    result = plan_release(repo, module.params)
    changed = module.params["create_tag"] and ensure_tag(repo, result, module.params, module.check_mode)
    result["tag_created"] = bool(changed) and not module.check_mode
    return dict(result, changed=bool(changed))


def main():
    module = AnsibleModule(argument_spec=copy.deepcopy(SPEC), supports_check_mode=True)
    try:
        module.exit_json(**run_semver_next(module))
    except CommandError as exc:
        module.fail_json(**exc.to_result())
    except ValueError as exc:
        module.fail_json(msg=str(exc))


if __name__ == "__main__":
    main()
