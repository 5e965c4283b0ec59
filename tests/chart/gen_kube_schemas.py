#!/usr/bin/env python3
"""Write strict kubeconform JSON schemas for offline validation: every built-in kind of
k8s.io/kubernetes' api/openapi-spec/swagger.json, and every served version of the CRDs that the
Go modules of CRD_SOURCES ship. All of them come from the Go module proxy (`go mod download`)."""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

# name (the command line option giving its version): Go module, glob of its CRD manifests
CRD_SOURCES = {
    "prometheus-operator": (
        "github.com/prometheus-operator/prometheus-operator",
        "example/prometheus-operator-crd/monitoring.coreos.com_*.yaml",
    ),
    # external-secrets.io (SecretStore, ExternalSecret, ...) and generators.external-secrets.io
    "external-secrets": (
        "github.com/external-secrets/external-secrets",
        "config/crds/bases/*external-secrets.io_*.yaml",
    ),
    # the standard channel only (experimental kinds and fields are not in it)
    "gateway-api": ("sigs.k8s.io/gateway-api", "config/crd/standard/gateway.networking.k8s.io_*.yaml"),
}

INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
QUANTITY = {"oneOf": [{"type": "string"}, {"type": "number"}]}
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
DRAFT = "http://json-schema.org/draft-07/schema#"

# PyYAML's C loader when it is there: the CRDs are large (prometheus-operator's alone are 4 MB)
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CRDLoader(_BaseLoader):
    """SafeLoader without YAML 1.1's `=` value tag (the CRDs have `- =` in enums)."""


CRDLoader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:value"] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def go_download(module: str, version: str) -> dict:
    env = {**os.environ, "GOFLAGS": "-mod=mod"}
    env.pop("GOWORK", None)
    out = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"],
                         capture_output=True, text=True, cwd="/", env=env)
    info = json.loads(out.stdout) if out.stdout.strip() else {}
    if out.returncode != 0 or info.get("Error"):
        sys.exit(f"go mod download {module}@{version}: {info.get('Error') or out.stderr.strip()}")
    return info


def kind_suffix(group: str, version: str) -> str:
    """kubeconform's {{ .KindSuffix }}: -<first label of the group>-<version>, or -<version>."""
    first = group.split(".")[0].lower() if group else ""
    return f"-{first}-{version}".lower() if first else f"-{version}".lower()


def strictify(node, strict: bool = True):
    """One schema node (OpenAPI v2 definition or CRD structural schema) as JSON schema draft 7.

    - additionalProperties: false wherever properties are listed, unless the node has
      x-kubernetes-preserve-unknown-fields (it keeps unknown fields there, not below it);
    - int-or-string (x-kubernetes-int-or-string, format: int-or-string) as oneOf string/integer;
    - nullable: true adds null to the type.
    Only schema positions are walked (properties' values, items, additionalProperties,
    anyOf/oneOf/allOf/not), so a field named `properties`, `format` or `type` is a field. Below
    anyOf/oneOf/allOf/not (strict=False) nothing becomes strict: those are value validations
    whose `properties` only constrain fields declared beside them (Gateway's addresses: oneOf
    [{properties: {type: {enum: [IPAddress]}, value: ...}}, {properties: {type: {not: ...}}}]).
    """
    if not isinstance(node, dict) or "$ref" in node:
        return node
    node = dict(node)
    if isinstance(node.get("properties"), dict):
        node["properties"] = {k: strictify(v, strict) for k, v in node["properties"].items()}
    if isinstance(node.get("additionalProperties"), dict):
        node["additionalProperties"] = strictify(node["additionalProperties"], strict)
    if isinstance(node.get("items"), dict):
        node["items"] = strictify(node["items"], strict)
    elif isinstance(node.get("items"), list):
        node["items"] = [strictify(n, strict) for n in node["items"]]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(node.get(key), list):
            node[key] = [strictify(n, False) for n in node[key]]
    if isinstance(node.get("not"), dict):
        node["not"] = strictify(node["not"], False)
    nullable = node.pop("nullable", False) is True
    if node.get("format") == "int-or-string" or node.get("x-kubernetes-int-or-string"):
        rest = {k: v for k, v in node.items() if k not in ("type", "format", "x-kubernetes-int-or-string", "oneOf")}
        alternatives = INT_OR_STRING["oneOf"] + ([{"type": "null"}] if nullable else [])
        # an int-or-string node of a CRD also has anyOf [{type: integer}, {type: string}]: kept, it is the same
        if "oneOf" in node:
            rest["allOf"] = [*rest.get("allOf", []), {"oneOf": node["oneOf"]}]
        return {**rest, "oneOf": alternatives}
    if nullable and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    if (
        strict
        and isinstance(node.get("properties"), dict)
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


def closure(defs: dict, name: str) -> set[str]:
    """The definitions that `name` references, directly or not, itself included."""
    seen, todo = set(), {name}
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        found: set = set()
        refs_of(defs[n], found)
        todo |= found - seen
    return seen


def strict_definitions(swagger: dict) -> dict[str, dict]:
    defs = {k: strictify(v) for k, v in swagger["definitions"].items()}
    defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = dict(INT_OR_STRING)
    defs["io.k8s.apimachinery.pkg.api.resource.Quantity"] = dict(QUANTITY)
    return defs


def builtin_schemas(defs: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for name, d in defs.items():
        for gvk in d.get("x-kubernetes-group-version-kind", []):
            if name.endswith("List") and gvk["kind"].endswith("List"):
                continue
            schema = copy.deepcopy(d)
            schema.pop("x-kubernetes-group-version-kind", None)
            props = schema.setdefault("properties", {})
            api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            props["apiVersion"] = {"type": "string", "enum": [api_version]}
            props["kind"] = {"type": "string", "enum": [gvk["kind"]]}
            schema["definitions"] = {n: defs[n] for n in sorted(closure(defs, name) - {name})}
            schema["$schema"] = DRAFT
            out[f"{gvk['kind'].lower()}{kind_suffix(gvk['group'], gvk['version'])}.json"] = schema
    return out


def crd_schemas(crd: dict, meta_defs: dict[str, dict]) -> dict[str, dict]:
    """One schema per served version. metadata: the CRDs say only `type: object` (the API server
    checks it as ObjectMeta), so it is ObjectMeta from the Kubernetes definitions, strict too."""
    spec = crd["spec"]
    out = {}
    for v in spec["versions"]:
        if not v.get("served", True):
            continue
        schema = strictify(v["schema"]["openAPIV3Schema"])
        props = schema.setdefault("properties", {})
        meta = props.get("metadata")
        ref = {"$ref": f"#/definitions/{OBJECT_META}"}
        props["metadata"] = ref if meta in (None, {"type": "object"}) else {"allOf": [ref, strictify(meta, False)]}
        props["apiVersion"] = {"type": "string", "enum": [f"{spec['group']}/{v['name']}"]}
        props["kind"] = {"type": "string", "enum": [spec["names"]["kind"]]}
        schema["definitions"] = meta_defs
        schema["$schema"] = DRAFT
        out[f"{spec['names']['kind'].lower()}{kind_suffix(spec['group'], v['name'])}.json"] = schema
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, epilog=(
        "Writes OUT/<kind><kindSuffix>.json (deployment-apps-v1.json, externalsecret-external-secrets-v1.json), "
        "for kubeconform -schema-location 'OUT/{{ .ResourceKind }}{{ .KindSuffix }}.json'. CRD sources: "
        + "; ".join(f"{m} {g}" for m, g in CRD_SOURCES.values())))
    ap.add_argument("out", type=Path, metavar="OUT", help="the schema directory (replaced as a whole)")
    ap.add_argument("--kubernetes", required=True, metavar="VERSION", help="k8s.io/kubernetes version, e.g. v1.34.4")
    for name, (module, _) in CRD_SOURCES.items():
        ap.add_argument(f"--{name}", required=True, metavar="VERSION", help=f"{module} version")
    args = ap.parse_args()

    k8s = go_download("k8s.io/kubernetes", args.kubernetes)
    with zipfile.ZipFile(k8s["Zip"]) as z:
        swagger = json.loads(z.read(f"k8s.io/kubernetes@{args.kubernetes}/api/openapi-spec/swagger.json"))
    defs = strict_definitions(swagger)
    schemas = builtin_schemas(defs)
    meta_defs = {n: defs[n] for n in sorted(closure(defs, OBJECT_META))}
    origin = dict.fromkeys(schemas, "k8s.io/kubernetes")
    counts = {"k8s.io/kubernetes": len(schemas)}
    for name, (module, pattern) in CRD_SOURCES.items():
        version = getattr(args, name.replace("-", "_"))
        files = sorted(Path(go_download(module, version)["Dir"]).glob(pattern))
        if not files:
            sys.exit(f"no CRDs match {pattern} in {module}@{version}")
        counts[f"{module}@{version}"] = 0
        for f in files:
            for doc in yaml.load_all(f.read_text(), Loader=CRDLoader):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                for fname, schema in crd_schemas(doc, meta_defs).items():
                    if fname in origin:
                        sys.exit(f"{fname} of {f.name} ({module}) is already written for {origin[fname]}")
                    origin[fname] = f"{module} {f.name}"
                    schemas[fname] = schema
                    counts[f"{module}@{version}"] += 1

    # into a new directory, then in place of OUT: no half-written or stale schemas in OUT
    tmp = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for fname, schema in schemas.items():
        (tmp / fname).write_text(json.dumps(schema, separators=(",", ":")))
    shutil.rmtree(args.out, ignore_errors=True)
    tmp.rename(args.out)
    print(f"wrote {len(schemas)} schemas to {args.out}: " + ", ".join(f"{k} {n}" for k, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
