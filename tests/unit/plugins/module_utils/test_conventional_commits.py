"""Conventional Commits parsing and bump rules: hand-written cases and properties."""

from __future__ import annotations

import pytest
from ansible_collections.agent_service.platform.plugins.module_utils import conventional_commits as cc
from ansible_collections.agent_service.platform.plugins.module_utils.conventional_commits import Commit
from hypothesis import given
from hypothesis import strategies as st


def test_header_fields():
    info = cc.parse_message("feat(api): stream responses\n\nLonger body.\n\nRefs: #12")
    fields = (info["type"], info["scope"], info["description"], info["breaking"])
    assert fields == ("feat", "api", "stream responses", False)
    assert info["body"] == "Longer body."
    assert info["footers"] == [["Refs", "#12"]]
    assert info["conventional"]


def test_bang_without_footer_is_breaking():
    info = cc.parse_message("refactor(db)!: drop the legacy table")
    assert info["breaking"] and info["breaking_notes"] == ["drop the legacy table"]
    assert cc.conventional_bump(["refactor(db)!: drop the legacy table"]) == "major"


@pytest.mark.parametrize("token", ["BREAKING CHANGE", "BREAKING-CHANGE"])
def test_footer_without_bang_is_breaking(token):
    msg = f"fix: new config format\n\nThe old one was ambiguous.\n\n{token}: settings moved to [app]\nReviewed-by: Z"
    info = cc.parse_message(msg)
    assert info["breaking"] and info["breaking_notes"] == ["settings moved to [app]"]
    assert info["footers"] == [[token, "settings moved to [app]"], ["Reviewed-by", "Z"]]
    assert cc.conventional_bump([msg]) == "major"


def test_footer_continuation_and_hash_form():
    info = cc.parse_message("fix: x\n\nBREAKING CHANGE: first line\n  second line\nCloses #7")
    assert info["breaking_notes"] == ["first line\n  second line"]
    assert info["footers"][-1] == ["Closes", "7"]


def test_breaking_in_body_text_is_not_a_footer():
    msg = "fix: x\n\nThis mentions BREAKING CHANGE: in prose.\nNot a footer paragraph"
    assert not cc.parse_message(msg)["breaking"]


def test_lowercase_breaking_change_is_not_breaking():
    assert cc.conventional_bump(["fix: x\n\nbreaking change: nope"]) == "patch"


@pytest.mark.parametrize("subject", ["Update README", "feat:missing space", "feat (api): space before scope",
                                     ": no type", "feat(api: unclosed"])
def test_non_conventional(subject):
    info = cc.parse_message(subject)
    assert not info["conventional"] and info["type"] is None
    assert cc.conventional_bump([subject]) == "none"


@pytest.mark.parametrize("messages,expected", [
    ([], "none"),
    (["chore: deps", "docs: typo", "ci: cache"], "none"),
    (["fix: a"], "patch"),
    (["perf: faster"], "patch"),
    (["FEAT: shouting"], "minor"),
    (["fix: a", "feat: b"], "minor"),
    (["fix: a", "feat: b", "chore!: drop py3.10"], "major"),
    (["feat(no-release): internal only"], "none"),
])
def test_bump_rules(messages, expected):
    assert cc.conventional_bump(messages) == expected


def test_custom_types_and_overlap():
    assert cc.conventional_bump(["refactor: x"], patch_types=["fix", "refactor"]) == "patch"
    assert cc.conventional_bump(["feat: x"], minor_types=["feature"]) == "none"
    with pytest.raises(ValueError, match="both as minor and as patch: feat"):
        cc.conventional_bump(["feat: x"], minor_types=["feat"], patch_types=["feat"])


def test_revert_of_feat_in_range_cancels_both():
    commits = [
        Commit("c3", 'Revert "feat: add search"\n\nThis reverts commit aaaa111.'),
        Commit("bbbb222", "fix: typo"),
        Commit("aaaa111bbbb", "feat: add search"),
    ]
    entries = cc.classify(commits)
    assert [e["ignored"] for e in entries] == ["reverts-in-range", None, "reverted"]
    assert cc.bump_level(entries) == "patch"


def test_revert_by_conventional_header():
    assert cc.conventional_bump(["revert: feat: add search", "feat: add search"]) == "none"


def test_revert_of_released_commit_is_a_patch():
    entries = cc.classify([Commit("c1", 'Revert "feat: old"\n\nThis reverts commit 0123456789abcdef.')])
    assert entries[0]["type"] == "revert" and entries[0]["revert"]["sha"] == "0123456789abcdef"
    assert entries[0]["bump"] == "patch" and entries[0]["ignored"] is None


def test_merge_commits_ignored_by_default():
    commits = [Commit("m1", "Merge branch 'feature' into main", ["p1", "p2"]),
               Commit("m2", "feat!: merged via squash-less merge", ["p1", "p2"]),
               Commit("c1", "fix: real")]
    entries = cc.classify(commits)
    assert [e["ignored"] for e in entries] == ["merge", "merge", None]
    assert cc.bump_level(entries) == "patch"
    assert cc.bump_level(cc.classify(commits, include_merges=True)) == "major"
    assert cc.conventional_bump(["Merge pull request #5 from x/y", "fix: z"]) == "patch"


def test_changelog_groups():
    entries = cc.classify([
        Commit("a" * 40, "feat(api)!: new routes\n\nBREAKING CHANGE: /v0 is gone"),
        Commit("b" * 40, "fix: crash"),
        Commit("c" * 40, "chore: deps"),
        Commit("d" * 40, "perf: cache"),
    ])
    text = cc.changelog_markdown("2.0.0", entries)
    assert text.splitlines()[0] == "## 2.0.0"
    assert "### BREAKING CHANGES\n\n- **api:** /v0 is gone (aaaaaaaa)" in text
    assert "### Features\n\n- **api:** new routes (aaaaaaaa)" in text
    assert "### Bug Fixes\n\n- crash (bbbbbbbb)" in text
    assert "### Performance Improvements" in text and "deps" not in text
    assert text.index("BREAKING") < text.index("Features") < text.index("Bug Fixes")
    assert "No notable changes." in cc.changelog_markdown("1.0.1", [])


def test_parse_message_type_error():
    with pytest.raises(TypeError, match="must be a string"):
        cc.parse_message(None)


# --- properties against a hand-written model ----------------------------------------------------------
TYPES = ["feat", "fix", "perf", "chore", "docs", "refactor", "test"]
MODEL = {"feat": "minor", "fix": "patch", "perf": "patch"}
headers = st.tuples(st.sampled_from(TYPES), st.sampled_from([None, "api", "db"]), st.booleans(),
                    st.sampled_from([None, "BREAKING CHANGE", "BREAKING-CHANGE"]))


def render(commit):
    ctype, scope, bang, footer = commit
    msg = f"{ctype}{f'({scope})' if scope else ''}{'!' if bang else ''}: change"
    if footer:
        msg += f"\n\nbody\n\n{footer}: details"
    return msg


def model_level(commit):
    ctype, _scope, bang, footer = commit
    return "major" if bang or footer else MODEL.get(ctype, "none")


@given(st.lists(headers, max_size=8))
def test_bump_matches_model(commits):
    levels = ["none", "patch", "minor", "major"]
    expected = max((model_level(c) for c in commits), key=levels.index, default="none")
    assert cc.conventional_bump([render(c) for c in commits]) == expected


@given(st.lists(headers, min_size=1, max_size=6))
def test_reverting_everything_releases_nothing(commits):
    messages = [render(c) for c in commits]
    reverts = [f"revert: {m.splitlines()[0]}" for m in messages]
    assert cc.conventional_bump(reverts + messages) == "none"


# --- revert matching against the plain nearest-match model ---------------------------------------------
def model_ignored(commits):
    """The ignored markers by the definition: newest revert first, each takes the nearest older match
    that nothing took yet (by sha prefix when it names one, else by header)."""
    infos = [cc.parse_message(c.message) for c in commits]
    ignored = [None] * len(commits)
    for i, info in enumerate(infos):
        revert = info["revert"]
        if not revert or ignored[i]:
            continue
        for j in range(i + 1, len(commits)):
            if ignored[j]:
                continue
            sha = revert["sha"]
            if (commits[j].sha.startswith(sha) or sha.startswith(commits[j].sha)) if sha \
                    else infos[j]["subject"] == revert["header"]:
                ignored[i], ignored[j] = "reverts-in-range", "reverted"
                break
    return ignored


@st.composite
def histories(draw):
    """Newest first: features, and reverts of older commits by sha, by header or of a revert."""
    size = draw(st.integers(1, 14))
    commits = []
    for n in reversed(range(size)):
        sha = f"{n:040x}"
        older = list(commits)  # built oldest first, so all are older than this one
        kind = draw(st.sampled_from(["feat", "fix", "by-sha", "by-header", "github"])) if older else "feat"
        if kind in ("feat", "fix"):
            message = f"{kind}: change {draw(st.integers(0, 3))}"
        else:
            target = draw(st.sampled_from(older))
            header = target.message.splitlines()[0]
            if kind == "by-sha":
                message = f'Revert "{header}"\n\nThis reverts commit {target.sha}.'
            elif kind == "github":
                message = f'Revert "{header}" (#{draw(st.integers(1, 9999))})'
            else:
                message = f"revert: {header}"
        commits.append(Commit(sha, message))
    return list(reversed(commits))


@given(histories())
def test_revert_matching_matches_the_model(commits):
    assert [e["ignored"] for e in cc.classify(commits)] == model_ignored(commits)


def test_revert_of_a_revert_restores_the_original():
    commits = [Commit("c" * 40, 'Revert "Revert "feat: a""\n\nThis reverts commit ' + "b" * 40 + "."),
               Commit("b" * 40, 'Revert "feat: a"\n\nThis reverts commit ' + "a" * 40 + "."),
               Commit("a" * 40, "feat: a")]
    assert [e["ignored"] for e in cc.classify(commits)] == ["reverts-in-range", "reverted", None]
    assert cc.bump_level(cc.classify(commits)) == "minor"


@pytest.mark.parametrize(("refs", "sha"), [("676104e, a215868", "676104e"), ("#123", None), ("", None)])
def test_refs_footer_names_a_sha_only_when_it_is_one(refs, sha):
    info = cc.parse_message(f"revert: feat: a\n\nRefs: {refs}" if refs else "revert: feat: a")
    assert info["revert"] == {"sha": sha, "header": "feat: a"}
