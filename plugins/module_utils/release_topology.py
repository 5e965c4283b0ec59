# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The releases beside the main one: canaries and blue/green colours.

The main release owns the database, Redis, the Secret, beat, Flower, the ingress and the live
API Service. A *satellite* release of the same chart runs API and worker pods of another
version against the main release's database, Redis and Secret: a canary (one replica, its API
pods join the main release's traffic group) or a blue/green colour (full size, its own traffic
group, which the live Service selects once it is switched to).

Pure functions on values dicts; the filters in plugins/filter/release.py expose them to the role.
"""

from __future__ import annotations

import copy

COLOURS = ("blue", "green")
TRAFFIC_LABEL = "agent-service.io/traffic"
_SCALED = ("api", "worker")


def _merge(base, over):
    """``over`` merged into a deep copy of ``base``, dicts recursively (what helm does with -f files)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _require_dict(values):
    if not isinstance(values, dict):
        raise TypeError(f"the release values must be a dict, got {type(values).__name__}")
    return values


def _fixed_size(replicas):
    return {"replicaCount": replicas, "autoscaling": {"enabled": False}, "pdb": {"create": False}}


def satellite_values(values, main_fullname, name, traffic_group, replicas=None, migrate=False):
    """Values of a satellite release ``name`` beside the main release ``main_fullname``.

    ``traffic_group``: the API pods' group (the main fullname for a canary, which then takes a
    share of the live traffic; ``name`` for a colour, which takes none until switched to). Its
    own Service selects its own pods only (the preview Service). ``replicas``: a fixed size for
    API and worker (no HPA, no PDB); None keeps the environment's. ``migrate``: run the chart's
    migration hook in this release (a colour must, before it serves; a canary must not).
    """
    values = _require_dict(values)
    if not main_fullname or not name or not traffic_group:
        raise ValueError("main_fullname, name and traffic_group must not be empty")
    postgresql = values.get("postgresql") or {}
    secrets = values.get("secrets") or {}
    api = {"trafficGroup": traffic_group, "service": {"selectBy": "release", "trafficGroup": ""}}
    worker = {}
    if replicas is not None:
        api.update(_fixed_size(int(replicas)))
        worker.update(_fixed_size(int(replicas)))
    over = {
        "fullnameOverride": name,
        "secrets": {"existingSecret": secrets.get("existingSecret") or main_fullname},
        "api": api,
        "worker": worker,
        "beat": {"enabled": False},
        "flower": {"enabled": False},
        "migration": {"enabled": bool(migrate)},
        "ingress": {"enabled": False},
        "postgresql": {"enabled": False},
        "redis": {"enabled": False},
    }
    if postgresql.get("enabled"):
        over["externalDatabase"] = {
            "host": f"{main_fullname}-postgresql",
            "database": postgresql.get("database") or "agent_service",
            "username": postgresql.get("username") or "agent_service",
        }
    if (values.get("redis") or {}).get("enabled"):
        over["externalRedis"] = {"host": f"{main_fullname}-redis"}
    return _merge(values, over)


def shared_values(values, live_group):
    """Values of the main release under blue/green: everything but its own API and worker pods.

    The API and worker Deployments (every worker pool too) stay, at zero replicas without HPA or
    PDB, so that helm diff of the main release still shows any change of their settings. The API
    Service selects ``live_group``: the live colour.
    """
    values = _require_dict(values)
    if not live_group:
        raise ValueError("live_group must not be empty")
    over = {name: _fixed_size(0) for name in _SCALED}
    over["api"]["service"] = {"selectBy": "traffic", "trafficGroup": live_group}
    pools = values.get("workerPools") or {}
    if pools:
        over["workerPools"] = {pool: _fixed_size(0) for pool in pools}
    return _merge(values, over)


def colour_names(release_name):
    """The two colour releases of ``release_name``: {'blue': '<name>-blue', 'green': '<name>-green'}."""
    if not release_name:
        raise ValueError("release_name must not be empty")
    return {colour: f"{release_name}-{colour}" for colour in COLOURS}


def bluegreen_plan(release_name, main_fullname, live_group, releases=()):
    """Which colour serves and which one the next version goes to.

    ``live_group``: the traffic group the live Service selects now (None or '' when there is no
    Service yet). ``releases``: names of the releases present in the namespace.

    Returns ``live`` (the live release's name: a colour, the main release when it still serves
    itself as under the rolling strategy, or None), ``live_colour`` (blue, green or None),
    ``target`` (the colour release to install: the idle one), ``target_colour``, ``replace``
    (an idle release of that name is left from before and must be uninstalled first) and
    ``colours`` (colour -> release name).
    """
    names = colour_names(release_name)
    by_group = {name: colour for colour, name in names.items()}
    present = set(releases or ())
    live_colour = by_group.get(live_group) if live_group else None
    if live_group and live_colour is None and live_group != main_fullname:
        raise ValueError(
            f"the live Service selects traffic group {live_group!r}, which is neither {main_fullname!r} "
            f"nor a colour ({', '.join(sorted(names.values()))}); switch it back by hand before a blue/green release"
        )
    if live_colour is not None:
        live = names[live_colour]
    elif live_group:
        live = main_fullname
    else:
        live = None
    target_colour = "green" if live_colour == "blue" else "blue"
    target = names[target_colour]
    return {
        "live": live,
        "live_colour": live_colour,
        "target": target,
        "target_colour": target_colour,
        "replace": target in present,
        "colours": names,
    }


def release_plan(strategy, values, release_name, main_fullname, traffic_group="", releases=()):
    """The main release's values under ``strategy``, and the strategy's plan.

    blue/green: the colours (``bluegreen_plan``) and the main release's values with its Service on
    the live colour (the first colour on a first install), so that its diff shows every change but
    the switch. Every other strategy deploys the merged values to the main release as they are.
    Returns ``{'values': ..., 'plan': the strategy's plan or None}``.
    """
    values = _require_dict(values)
    if strategy != "bluegreen":
        return {"values": values, "plan": None}
    plan = bluegreen_plan(release_name, main_fullname, traffic_group or None, releases)
    return {"values": shared_values(values, plan["live"] or plan["target"]), "plan": plan}
