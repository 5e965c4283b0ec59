#!/usr/bin/env python3
"""Write kubeconform JSON schemas (strict) for offline validation.

Sources, both fetched with the ordinary Go client from the Go module proxy:
  - k8s.io/kubernetes@KUBERNETES_VERSION: api/openapi-spec/swagger.json (every built-in kind)
  - github.com/prometheus-operator/prometheus-operator@PROMETHEUS_OPERATOR_VERSION:
    example/prometheus-operator-crd/*.yaml (ServiceMonitor, PrometheusRule, ... CRDs)

Output: OUT/<kind><kindSuffix>.json, matching kubeconform's
`-schema-location 'OUT/{{ .ResourceKind }}{{ .KindSuffix }}.json'` (e.g. deployment-apps-v1.json,
service-v1.json, servicemonitor-monitoring-v1.json). "Strict" means additionalProperties: false on
every object that lists its properties, so a misspelt key is an error.

Usage: gen_kube_schemas.py OUT KUBERNETES_VERSION PROMETHEUS_OPERATOR_VERSION
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
QUANTITY = {"oneOf": [{"type": "string"}, {"type": "number"}]}


class CRDLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's `=` value tag (the CRDs have `- =` in enums)."""


CRDLoader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:value"] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def go_download(module: str, version: str) -> dict:
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        check=True,
        capture_output=True,
        text=True,
        cwd="/",
        env=_goenv(),
    )
    return json.loads(out.stdout)


def _goenv() -> dict:
    import os

    env = dict(os.environ)
    env["GOFLAGS"] = "-mod=mod"
    env.pop("GOWORK", None)
    return env


def kind_suffix(group: str, version: str) -> str:
    first = group.split(".")[0].lower() if group else ""
    return f"-{first}-{version}".lower() if first else f"-{version}".lower()


def strictify(node):
    """additionalProperties: false wherever properties are listed; int-or-string as oneOf."""
    if isinstance(node, list):
        return [strictify(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: strictify(v) for k, v in node.items()}
    if node.get("format") == "int-or-string" or node.get("x-kubernetes-int-or-string"):
        rest = {k: v for k, v in node.items() if k not in ("type", "format", "x-kubernetes-int-or-string")}
        return {**rest, **INT_OR_STRING}
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        node["additionalProperties"] = False
    return node


def refs_of(node, found: set):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            found.add(ref[len("#/definitions/") :])
        for v in node.values():
            refs_of(v, found)
    elif isinstance(node, list):
        for v in node:
            refs_of(v, found)


def builtin_schemas(swagger: dict) -> dict[str, dict]:
    defs = swagger["definitions"]
    defs = {k: strictify(v) for k, v in defs.items()}
    defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = dict(INT_OR_STRING)
    defs["io.k8s.apimachinery.pkg.api.resource.Quantity"] = dict(QUANTITY)
    out = {}
    for name, d in defs.items():
        for gvk in d.get("x-kubernetes-group-version-kind", []):
            if name.endswith("List") and gvk["kind"].endswith("List"):
                continue
            closure, todo = set(), {name}
            while todo:
                n = todo.pop()
                if n in closure:
                    continue
                closure.add(n)
                found: set = set()
                refs_of(defs[n], found)
                todo |= found - closure
            schema = copy.deepcopy(d)
            schema.pop("x-kubernetes-group-version-kind", None)
            props = schema.setdefault("properties", {})
            api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            props["apiVersion"] = {"type": "string", "enum": [api_version]}
            props["kind"] = {"type": "string", "enum": [gvk["kind"]]}
            schema["definitions"] = {n: defs[n] for n in sorted(closure - {name})}
            schema["$schema"] = "http://json-schema.org/draft-07/schema#"
            out[f"{gvk['kind'].lower()}{kind_suffix(gvk['group'], gvk['version'])}.json"] = schema
    return out


def crd_schemas(crd: dict) -> dict[str, dict]:
    spec = crd["spec"]
    out = {}
    for v in spec["versions"]:
        schema = strictify(copy.deepcopy(v["schema"]["openAPIV3Schema"]))
        props = schema.setdefault("properties", {})
        props["apiVersion"] = {"type": "string", "enum": [f"{spec['group']}/{v['name']}"]}
        props["kind"] = {"type": "string", "enum": [spec["names"]["kind"]]}
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        out[f"{spec['names']['kind'].lower()}{kind_suffix(spec['group'], v['name'])}.json"] = schema
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    out, k8s_version, promop_version = Path(argv[1]), argv[2], argv[3]
    out.mkdir(parents=True, exist_ok=True)
    k8s = go_download("k8s.io/kubernetes", k8s_version)
    with zipfile.ZipFile(k8s["Zip"]) as z:
        swagger = json.loads(z.read(f"k8s.io/kubernetes@{k8s_version}/api/openapi-spec/swagger.json"))
    schemas = builtin_schemas(swagger)
    promop = go_download("github.com/prometheus-operator/prometheus-operator", promop_version)
    crd_dir = Path(promop["Dir"]) / "example" / "prometheus-operator-crd"
    crds = sorted(crd_dir.glob("monitoring.coreos.com_*.yaml"))
    if not crds:
        print(f"no CRDs under {crd_dir}", file=sys.stderr)
        return 1
    for f in crds:
        schemas.update(crd_schemas(yaml.load(f.read_text(), Loader=CRDLoader)))
    for name, schema in schemas.items():
        (out / name).write_text(json.dumps(schema, separators=(",", ":")))
    print(f"wrote {len(schemas)} schemas to {out} (kubernetes {k8s_version}, prometheus-operator {promop_version})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
