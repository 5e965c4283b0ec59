# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Strict Semantic Versioning 2.0.0: parse, compare (precedence), bump.

Pure Python, no Ansible imports. Precedence follows https://semver.org/#spec-item-11:
major, minor and patch compare numerically; a version with a prerelease has lower
precedence than the same version without; prerelease identifiers compare one by
one (numeric ones numerically, alphanumeric ones in ASCII order, numeric lower
than alphanumeric, a shorter list lower when all earlier identifiers are equal).
Build metadata is kept but never takes part in precedence.
"""

from __future__ import annotations

import re

_NUM = r"0|[1-9]\d*"
_PRE_ID = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_ID = r"[0-9A-Za-z-]+"
SEMVER_PATTERN = (
    rf"(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<prerelease>{_PRE_ID}(?:\.{_PRE_ID})*))?"
    rf"(?:\+(?P<build>{_BUILD_ID}(?:\.{_BUILD_ID})*))?"
)
_SEMVER_RE = re.compile(rf"^{SEMVER_PATTERN}$")

BUMP_PARTS = ("major", "minor", "patch", "prerelease", "release")
# Order of the bump levels a commit history can ask for.
BUMP_LEVELS = ("none", "patch", "minor", "major")


class SemVerError(ValueError):
    """A string is not a SemVer 2.0.0 version, or a bump request is invalid."""


class SemVer:
    """An immutable SemVer 2.0.0 version. Comparison operators use precedence."""

    __slots__ = ("major", "minor", "patch", "prerelease", "build")

    def __init__(self, major, minor, patch, prerelease=(), build=()):
        for name, value in (("major", major), ("minor", minor), ("patch", patch)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise SemVerError(f"{name} must be a non-negative integer, got {value!r}")
        pre = tuple(str(p) for p in prerelease)
        bld = tuple(str(b) for b in build)
        for ident in pre:
            if not re.fullmatch(_PRE_ID, ident):
                raise SemVerError(f"invalid prerelease identifier {ident!r}")
        for ident in bld:
            if not re.fullmatch(_BUILD_ID, ident):
                raise SemVerError(f"invalid build metadata identifier {ident!r}")
        object.__setattr__(self, "major", major)
        object.__setattr__(self, "minor", minor)
        object.__setattr__(self, "patch", patch)
        object.__setattr__(self, "prerelease", pre)
        object.__setattr__(self, "build", bld)

    def __setattr__(self, name, value):
        raise AttributeError("SemVer is immutable")

    @classmethod
    def parse(cls, text):
        """Parse a strict SemVer string (no leading C(v), no missing parts)."""
        if not isinstance(text, str):
            raise SemVerError(f"a version must be a string, got {type(text).__name__}")
        match = _SEMVER_RE.match(text)
        if not match:
            raise SemVerError(
                f"{text!r} is not a valid SemVer 2.0.0 version (expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD])"
            )
        pre = match.group("prerelease")
        build = match.group("build")
        return cls(
            int(match.group("major")),
            int(match.group("minor")),
            int(match.group("patch")),
            tuple(pre.split(".")) if pre else (),
            tuple(build.split(".")) if build else (),
        )

    @classmethod
    def coerce(cls, value):
        """Return ``value`` as a SemVer (accepts a SemVer or a string)."""
        return value if isinstance(value, SemVer) else cls.parse(value)

    # --- precedence -------------------------------------------------------------
    def _key(self):
        # A release sorts after every prerelease of the same core version.
        if not self.prerelease:
            pre_key = (1,)
        else:
            pre_key = (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease))
        return (self.major, self.minor, self.patch, pre_key)

    def compare(self, other):
        """-1, 0 or 1 by SemVer precedence (build metadata ignored)."""
        a, b = self._key(), SemVer.coerce(other)._key()
        return (a > b) - (a < b)

    def __eq__(self, other):
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other):
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() < other._key()

    def __le__(self, other):
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() <= other._key()

    def __gt__(self, other):
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() > other._key()

    def __ge__(self, other):
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() >= other._key()

    def __hash__(self):
        return hash(self._key())

    def identical(self, other):
        """Equal including build metadata."""
        return self == other and self.build == other.build

    # --- views ------------------------------------------------------------------
    @property
    def is_prerelease(self):
        return bool(self.prerelease)

    @property
    def core(self):
        """The version without prerelease and build metadata."""
        return SemVer(self.major, self.minor, self.patch)

    def replace(self, **changes):
        fields = dict(major=self.major, minor=self.minor, patch=self.patch,
                      prerelease=self.prerelease, build=self.build)
        fields.update(changes)
        return SemVer(**fields)

    def to_dict(self):
        return dict(
            version=str(self), major=self.major, minor=self.minor, patch=self.patch,
            prerelease=list(self.prerelease), build=list(self.build), is_prerelease=self.is_prerelease,
        )

    def __str__(self):
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def __repr__(self):
        return f"SemVer('{self}')"

    # --- bumping ----------------------------------------------------------------
    def bump(self, part, token="rc"):
        """Return the next version for ``part``.

        ``major``/``minor``/``patch`` on a prerelease first release the prerelease
        when it already is a prerelease of that level (``1.3.0-rc.1`` minor → ``1.3.0``);
        otherwise they raise the part and reset the lower ones. ``prerelease``
        counts ``<token>.N`` up on the same core version, switches to ``<token>.1``
        on the same core when that sorts higher (beta → rc), or else starts
        ``<token>.1`` on the next patch, so a bump never goes back. ``release`` drops prerelease and build metadata.
        Build metadata never survives a bump.
        """
        if part not in BUMP_PARTS:
            raise SemVerError(f"unknown bump type {part!r}; expected one of: {', '.join(BUMP_PARTS)}")
        if part == "release":
            return self.core
        if part == "major":
            if self.prerelease and self.minor == 0 and self.patch == 0:
                return self.core
            return SemVer(self.major + 1, 0, 0)
        if part == "minor":
            if self.prerelease and self.patch == 0:
                return self.core
            return SemVer(self.major, self.minor + 1, 0)
        if part == "patch":
            if self.prerelease:
                return self.core
            return SemVer(self.major, self.minor, self.patch + 1)
        validate_token(token)
        number = prerelease_number(self, token)
        if number is not None:
            return self.core.replace(prerelease=(token, str(number + 1)))
        if self.prerelease:
            candidate = self.core.replace(prerelease=(token, "1"))
            if candidate > self:  # switching channel, e.g. beta → rc on the same version
                return candidate
        return SemVer(self.major, self.minor, self.patch + 1, (token, "1"))


def validate_token(token):
    if not isinstance(token, str) or not re.fullmatch(r"[A-Za-z][0-9A-Za-z-]*", token):
        raise SemVerError(f"invalid prerelease token {token!r}: use letters, digits and '-', starting with a letter")
    return token


def prerelease_number(version, token):
    """N when ``version`` is ``X.Y.Z-<token>.N``, else None."""
    pre = version.prerelease
    if len(pre) == 2 and pre[0] == token and pre[1].isdigit():
        return int(pre[1])
    return None


def parse(text):
    return SemVer.parse(text)


def compare(a, b):
    return SemVer.coerce(a).compare(SemVer.coerce(b))


def bump(version, part, token="rc"):
    return SemVer.coerce(version).bump(part, token)


def max_level(levels):
    """The highest of several bump levels (``none`` < ``patch`` < ``minor`` < ``major``)."""
    best = "none"
    for level in levels:
        if level not in BUMP_LEVELS:
            raise SemVerError(f"unknown bump level {level!r}; expected one of: {', '.join(BUMP_LEVELS)}")
        if BUMP_LEVELS.index(level) > BUMP_LEVELS.index(best):
            best = level
    return best
