# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VictoriaLogs over its LogsQL HTTP API: how many log lines a filter selects in a time range.

- ``fill``: a LogsQL filter from a template whose ``{name}`` placeholders take values (a namespace,
  a version), each quoted for LogsQL, so that a value cannot change what the filter means.
- ``count``: ``<filter> | stats count() as lines`` over a time range, answered by
  ``/select/logsql/query`` as one JSON line such as ``{"lines":"12"}``; an int.
- ``ui_link``: the same filter and range in VictoriaLogs' web UI (vmui).

The transport is ansible.module_utils.urls.open_url (proxies, TLS), as for Prometheus; the rest is
plain Python that the unit tests call directly.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url

QUERY_PATH = "/select/logsql/query"
# the name of the count in the stats pipe, and so the key of the answer's one line
COUNT_FIELD = "lines"
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
UTC = datetime.timezone.utc  # noqa: UP017  # modules also run on Pythons older than 3.11


class LogsError(Exception):
    """The count could not be had; ``msg`` says why."""

    def __init__(self, msg):
        super().__init__(msg)
        self.msg = msg


class LogsUnreachable(LogsError):
    """No answer from the store: refused, timed out, or an HTTP error other than a rejected query."""


class LogsQueryRejected(LogsError):
    """The store answered HTTP 400: the query is not valid LogsQL (the store's message is in ``msg``)."""


class LogsBadAnswer(LogsError):
    """The store answered, but not with the one JSON line of a stats query."""


def escape(value):
    """``value`` as the inside of a double-quoted LogsQL string (its lexer unquotes Go-style)."""
    out = []
    for char in str(value):
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def quote_value(value):
    """``value`` as a double-quoted LogsQL string, for example an exact match ``field:=<quoted>``."""
    return f'"{escape(value)}"'


def fill(template, values):
    """The filter ``template`` with each ``{name}`` of ``values`` replaced by its value, quoted for LogsQL.

    A placeholder inside a double-quoted string (``field:="{version}"``) takes the escaped value;
    a bare one (``field:={version}``) takes it as a quoted string. Braces that name no key of
    ``values`` are left as they are (LogsQL's stream filters use braces). A placeholder inside a
    single-quoted or backquoted string is refused: those strings quote differently.
    """
    if not isinstance(template, str) or not template.strip():
        raise ValueError(f"the query must be a non-empty LogsQL filter, got {template!r}")
    for name, value in values.items():
        if value is None:
            raise ValueError(f"the value of {{{name}}} must be a string, got None")
    placeholders = {f"{{{name}}}": str(value) for name, value in values.items()}
    out, closing, i = [], None, 0  # closing: the quote that ends the string we are in, or None
    while i < len(template):
        char = template[i]
        found = next((p for p in placeholders if template.startswith(p, i)), None) if char == "{" else None
        if found is not None:
            if closing is None:
                out.append(quote_value(placeholders[found]))
            elif closing == '"':
                out.append(escape(placeholders[found]))
            else:
                raise ValueError(f"the placeholder {found} is inside a {closing}...{closing} string in the query "
                                 f"{template!r}; put it inside double quotes or leave it bare")
            i += len(found)
            continue
        if closing is None and char in "\"'`":
            closing = char
        elif closing is not None and char == "\\" and closing != "`" and i + 1 < len(template):
            out.append(template[i:i + 2])  # an escaped character does not end the string
            i += 2
            continue
        elif char == closing:
            closing = None
        out.append(char)
        i += 1
    return "".join(out)


def stats_query(log_filter):
    """The LogsQL that counts the lines ``log_filter`` selects."""
    return f"{log_filter} | stats count() as {COUNT_FIELD}"


def duration_seconds(text):
    """Seconds of a duration such as ``5m``, ``1m30s``, ``250ms`` or a bare number of seconds."""
    value = str(text).strip()
    try:
        seconds = float(value)
    except ValueError:
        if not value or _DURATION_PART.sub("", value):
            raise ValueError(f"window must be a duration such as 5m, 1m30s or 300 (seconds), got {text!r}") \
                from None
        seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(value))
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"window must be a positive duration, got {text!r}")
    return seconds


def time_range(start=None, end=None, window=None, now=None):
    """``(start, end)`` in epoch seconds: as given, or the ``window`` that ends at ``end`` (default: now)."""
    if window is not None:
        if start is not None:
            raise ValueError("give start or window, not both")
        end = now if end is None else end
        start = end - duration_seconds(window)
    elif start is None:
        raise ValueError("give start (epoch seconds) or window (a duration ending now)")
    end = now if end is None else end
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be epoch seconds, got {value!r}")
    start, end = float(start), float(end)
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    return start, end


def rfc3339(epoch):
    """Epoch seconds as UTC RFC 3339 with microseconds, a time VictoriaLogs and its UI both read."""
    moment = datetime.datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_url(url, name="url"):
    if not isinstance(url, str) or not re.match(r"^https?://[^/?#\s]+", url):
        raise ValueError(f"{name} must be an http:// or https:// URL, got {url!r}")
    return url.rstrip("/")


def parse_count(body, url=""):
    """The count in the answer to a stats query: one JSON line ``{"lines": "<n>"}``."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            raise LogsBadAnswer(f"VictoriaLogs at {url} answered with non-JSON: {text[:300]!r}") from None
    if not rows:
        return 0  # nothing matched and the store sent no row; a stats query over no lines counts 0
    if len(rows) != 1 or not isinstance(rows[0], dict) or COUNT_FIELD not in rows[0]:
        raise LogsBadAnswer(f"VictoriaLogs at {url} answered {text[:300]!r}, not one line with {COUNT_FIELD!r}")
    value = rows[0][COUNT_FIELD]
    if isinstance(value, bool) or not re.fullmatch(r"\d+", str(value)):
        raise LogsBadAnswer(f"VictoriaLogs at {url} answered a count that is not a whole number: {value!r}")
    return int(value)


def count(url, query, start, end, timeout=30.0, headers=None):
    """How many lines the LogsQL filter ``query`` selects with ``start <= _time < end`` (epoch seconds).

    VictoriaLogs takes ``end`` as exclusive. Raises ValueError for bad arguments and a LogsError
    subclass when the store does not give a count.
    """
    base = check_url(url)
    if not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    start, end = time_range(start, end)
    form = urlencode({"query": stats_query(query), "start": rfc3339(start), "end": rfc3339(end)})
    try:
        with open_url(base + QUERY_PATH, data=form, method="POST", timeout=timeout, follow_redirects="safe",
                      headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}) as response:
            body = response.read()
    except HTTPError as exc:
        text = (exc.read() if exc.fp else b"").decode("utf-8", "replace").strip()
        if exc.code == 400:
            raise LogsQueryRejected(f"VictoriaLogs at {base} rejected the query (HTTP 400): {text[:1000]}") from exc
        raise LogsUnreachable(f"VictoriaLogs at {base} answered HTTP {exc.code}: {text[:300]}") from exc
    except (URLError, OSError, UrlsConnectionError) as exc:
        raise LogsUnreachable(f"cannot reach VictoriaLogs at {base}: {getattr(exc, 'reason', None) or exc}") \
            from exc
    return parse_count(body, base)


def ui_link(ui_url, log_filter, start, end):
    """A link to VictoriaLogs' web UI (``/select/vmui/``) showing the lines of ``log_filter`` from start to end.

    The UI routes in the URL's fragment and reads the query there (``query``), with an absolute
    range given as its end (``g0.end_input``) and its length (``g0.range_input``).
    """
    base = check_url(ui_url, "ui_url")
    start, end = time_range(start, end)
    params = {"query": log_filter, "g0.end_input": rfc3339(end),
              "g0.range_input": f"{max(1, math.ceil(end - start))}s", "g0.relative_time": "none"}
    return f"{base}/#/?{urlencode(params, quote_via=quote, safe='')}"
