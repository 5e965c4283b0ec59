#!/usr/bin/env python3
"""Turn the release playbook's semver_next result into GitHub Actions step outputs.

The build and deploy workflows take the version, the image tags and the changelog from
one place: `ansible-playbook agent_service.platform.release` (the semver_next module), run
with the JSON stdout callback (ANSIBLE_STDOUT_CALLBACK=ansible.posix.json). This script
reads that JSON, finds the semver_next result, decides which image tags this ref may push,
and writes them as `key=value` lines (multi-line values as heredocs) to $GITHUB_OUTPUT.

  release_outputs.py PLAYBOOK_JSON --image ghcr.io/owner/agent-service \
      [--github-output FILE] [--changelog FILE] [--summary FILE]

Which tags are pushed (GITHUB_EVENT_NAME, GITHUB_REF_TYPE, GITHUB_REF_NAME, GITHUB_SHA):
- a pushed tag vX.Y.Z: every tag semver_next gives; the module's next_tag must equal the
  pushed tag, otherwise the tag does not match the history and the build stops;
- the default branch (main), when there is something to release or the commit already carries
  its release tag: every tag semver_next gives (version, major.minor, major, latest,
  <branch>-<sha>); with nothing to release (docs, chores) only <branch>-<sha>;
- any other branch (develop): only <branch>-<sha>, so that a branch never overwrites a
  version tag;
- a pull request: nothing is pushed; the local tag is pr-<sha8>.
The deploy tag is the one tag a deploy of this build uses: the version on main and on
tags, <branch>-<sha> elsewhere.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

REQUIRED_KEYS = ("next_version", "next_tag", "version_tag", "image_tags", "changelog", "bump", "released")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class OutputError(Exception):
    """The playbook output or the ref cannot give a usable release."""


def find_semver_result(playbook_output: dict) -> dict:
    """Return the host result of the (first) semver_next task in a json-callback document."""
    for play in playbook_output.get("plays", []):
        for task in play.get("tasks", []):
            for result in task.get("hosts", {}).values():
                if all(key in result for key in REQUIRED_KEYS):
                    if result.get("failed"):
                        raise OutputError(f"semver_next failed: {result.get('msg', 'no message')}")
                    return result
    stats = playbook_output.get("stats", {})
    raise OutputError(f"no semver_next result in the playbook output (stats: {json.dumps(stats, sort_keys=True)})")


def tag_commit(repo: Path, tag: str) -> str | None:
    """The commit a tag points at in the repository, or None."""
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "-q", "--verify", f"refs/tags/{tag}^{{commit}}"],
                          capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def plan(result: dict, env: dict[str, str], tagged_head: bool = False) -> dict:
    """Decide the version, the tags to push and the deploy tag for this GitHub ref.

    tagged_head: the analysed commit already carries the release tag next_tag (the release
    job of the build tagged it): it is that release, although semver_next has nothing new to release.
    """
    event = env.get("GITHUB_EVENT_NAME", "")
    ref_type = env.get("GITHUB_REF_TYPE", "")
    ref_name = env.get("GITHUB_REF_NAME", "")
    sha = env.get("GITHUB_SHA", "") or result.get("sha") or ""
    default_branch = env.get("DEFAULT_BRANCH", "main")
    image_tags = [str(t) for t in result["image_tags"]]
    branch = result.get("branch") or (ref_name if ref_type == "branch" else None)
    for tag in image_tags:
        if not TAG_RE.match(tag):
            raise OutputError(f"semver_next gave an invalid image tag {tag!r}")

    push = event != "pull_request"
    if event == "pull_request":
        tags = [f"pr-{sha[:8]}"] if sha else ["pr"]
        deploy_tag = tags[0]
    elif ref_type == "tag":
        if result["next_tag"] != ref_name:
            raise OutputError(
                f"the pushed tag {ref_name} does not match the version from the history "
                f"({result['next_tag']}); tag the commit that semver_next releases"
            )
        tags = image_tags
        deploy_tag = result["version_tag"]
    elif ref_type == "branch" and ref_name == default_branch and (result["released"] or tagged_head):
        tags = image_tags
        deploy_tag = result["version_tag"]
    elif ref_type == "branch":
        # other branches, and the default branch with nothing to release (docs, chores): the version
        # tags stay on the image of the release commit
        tags = [t for t in image_tags if branch and t.startswith(f"{branch}-")]
        if not tags:
            raise OutputError(f"semver_next gave no <branch>-<sha> tag for branch {ref_name!r}: {image_tags}")
        deploy_tag = tags[0]
    else:
        raise OutputError(f"unsupported ref: event={event!r} ref_type={ref_type!r} ref_name={ref_name!r}")
    return {
        "version": result["next_version"],
        "tag": result["next_tag"],
        "bump": result["bump"],
        "released": bool(result["released"]),
        "push": push,
        "tags": tags,
        "deploy_tag": deploy_tag,
        "changelog": result["changelog"],
    }


def github_output(values: dict, image: str) -> str:
    """Render the plan as $GITHUB_OUTPUT lines; lists become newline-separated heredocs."""
    refs = [f"{image}:{tag}" for tag in values["tags"]]
    lines = [
        f"version={values['version']}",
        f"tag={values['tag']}",
        f"bump={values['bump']}",
        f"released={str(values['released']).lower()}",
        f"push={str(values['push']).lower()}",
        f"deploy_tag={values['deploy_tag']}",
        f"image={image}",
        f"image_ref={image}:{values['deploy_tag']}",
    ]
    for key, items in (("image_tags", values["tags"]), ("image_refs", refs)):
        delimiter = f"EOF_{key.upper()}"
        lines += [f"{key}<<{delimiter}", *items, delimiter]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("playbook_json", type=Path)
    parser.add_argument("--image", required=True, help="image name without tag, lower case")
    parser.add_argument("--github-output", type=Path, default=os.environ.get("GITHUB_OUTPUT"))
    parser.add_argument("--changelog", type=Path)
    parser.add_argument("--summary", type=Path, default=os.environ.get("GITHUB_STEP_SUMMARY"))
    parser.add_argument("--repo", type=Path, default=Path("."), help="the git checkout semver_next read")
    args = parser.parse_args(argv)
    if args.image != args.image.lower() or ":" in args.image.rsplit("/", 1)[-1]:
        print(f"release_outputs: --image must be lower case and without a tag, got {args.image!r}", file=sys.stderr)
        return 2
    try:
        text = args.playbook_json.read_text()
        start = text.find("{")
        if start < 0:
            raise OutputError(f"{args.playbook_json} holds no JSON document")
        result = find_semver_result(json.loads(text[start:]))
        tagged_head = bool(result.get("sha")) and tag_commit(args.repo, result["next_tag"]) == result["sha"]
        values = plan(result, dict(os.environ), tagged_head)
    except (OSError, ValueError, OutputError) as exc:
        print(f"release_outputs: {exc}", file=sys.stderr)
        return 1
    rendered = github_output(values, args.image)
    if args.github_output:
        with args.github_output.open("a") as out:
            out.write(rendered)
    print(rendered, end="")
    if args.changelog:
        args.changelog.write_text(values["changelog"])
    if args.summary:
        with args.summary.open("a") as out:
            out.write(f"## {values['tag']} ({values['bump']})\n\nImage tags: {', '.join(values['tags'])}\n\n")
            out.write(values["changelog"] + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
