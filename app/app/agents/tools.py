"""Tool registry. Each tool declares a pydantic input model; its JSON schema is published
by ``GET /v1/agents`` and arguments proposed by a provider are validated against it."""
from __future__ import annotations

import ast
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.core.config import get_settings
from app.core.db import session_scope
from app.models import LookupEntry


class ToolError(Exception):
    """A tool failed for a reason that retrying will not fix (bad input, not found, denied)."""


class TransientToolError(ToolError):
    """A tool failed for a reason that may go away (network, 5xx, database briefly down)."""


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    input_model: type[_Input]
    func: Callable[[Any], Any]

    def schema(self) -> dict[str, Any]:
        return self.input_model.model_json_schema()

    def run(self, arguments: dict[str, Any]) -> Any:
        try:
            parsed = self.input_model.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors())
            raise ToolError(f"invalid arguments for {self.name}: {problems}") from None
        return self.func(parsed)


# --- calculator -------------------------------------------------------------------------

class CalculatorInput(_Input):
    expression: str = Field(..., min_length=1, max_length=200, description="Arithmetic expression, e.g. 2+3*4")


_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _evaluate(node: ast.AST) -> int | float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 1e6):
            raise ToolError("exponent too large")
        return _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    raise ToolError(f"unsupported expression element: {type(node).__name__}")


def calculator(args: CalculatorInput) -> dict[str, Any]:
    expression = args.expression.replace("^", "**").replace("×", "*").replace("÷", "/")
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise ToolError(f"not an arithmetic expression: {args.expression!r}") from None
    try:
        value = _evaluate(tree)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except OverflowError:
        raise ToolError("result too large") from None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return {"expression": args.expression, "value": value}


# --- clock --------------------------------------------------------------------------------

class ClockInput(_Input):
    timezone: str = Field("UTC", min_length=1, max_length=64, description="IANA time zone name")


def clock(args: ClockInput) -> dict[str, Any]:
    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone: {args.timezone!r}") from None
    now = datetime.now(zone)
    return {"timezone": args.timezone, "iso": now.isoformat(timespec="seconds"), "unix": int(now.timestamp())}


# --- lookup (PostgreSQL) -------------------------------------------------------------------

class LookupInput(_Input):
    key: str = Field(..., min_length=1, max_length=128, description="Key of the entry (case-insensitive)")


def lookup(args: LookupInput) -> dict[str, Any]:
    try:
        with session_scope() as session:
            row = session.execute(
                select(LookupEntry.key, LookupEntry.value).where(func.lower(LookupEntry.key) == args.key.lower())
            ).first()
    except OperationalError as exc:
        raise TransientToolError(f"lookup database unavailable: {exc.orig.__class__.__name__}") from None
    if row is None:
        raise ToolError(f"no entry for key {args.key!r}")
    return {"key": row.key, "value": row.value}


# --- http_get (allow-listed) ---------------------------------------------------------------

class HttpGetInput(_Input):
    url: str = Field(..., min_length=8, max_length=2048, description="http(s) URL on an allow-listed host")


MAX_BODY = 4000


def _allowed(host: str, port: int | None, allowlist: list[str]) -> bool:
    host = host.lower()
    return host in allowlist or (port is not None and f"{host}:{port}" in allowlist)


def http_get(args: HttpGetInput) -> dict[str, Any]:
    settings = get_settings()
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ToolError(f"only absolute http(s) URLs are allowed: {args.url!r}")
    if parts.username or parts.password:
        raise ToolError("URLs with credentials are not allowed")
    if not _allowed(parts.hostname, parts.port, settings.HTTP_TOOL_ALLOWLIST):
        raise ToolError(f"host {parts.hostname!r} is not in HTTP_TOOL_ALLOWLIST")
    try:
        response = httpx.get(args.url, timeout=settings.HTTP_TOOL_TIMEOUT, follow_redirects=False)
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise TransientToolError(f"GET {args.url} failed: {exc.__class__.__name__}") from None
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientToolError(f"GET {args.url} returned {response.status_code}")
    return {
        "url": args.url,
        "status": response.status_code,
        "content_type": response.headers.get("content-type", ""),
        "body": response.text[:MAX_BODY],
    }


# --- sleep (diagnostics: shutdown and redelivery tests) ------------------------------------

class SleepInput(_Input):
    seconds: float = Field(..., ge=0, le=30, description="How long to sleep")


def sleep(args: SleepInput) -> dict[str, Any]:
    time.sleep(args.seconds)
    return {"slept": args.seconds}


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool("calculator", "Evaluate an arithmetic expression.", CalculatorInput, calculator),
        Tool("clock", "Current date and time in a time zone.", ClockInput, clock),
        Tool("lookup", "Read a reference entry from the lookup table.", LookupInput, lookup),
        Tool("http_get", "HTTP GET a URL on an allow-listed host.", HttpGetInput, http_get),
        Tool("sleep", "Wait for a number of seconds (diagnostics).", SleepInput, sleep),
    )
}
