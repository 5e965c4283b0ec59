#!/usr/bin/python
# Copyright: (c) 2026, agent_service.platform contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: release_backup
short_description: Back up a Helm release and its PostgreSQL database into a directory, with a manifest and retention
version_added: 1.0.0
author:
  - agent_service.platform contributors (@agent-service)
description:
  - Writes the release's helm state into O(path) (C(values.yaml), C(manifest.yaml) and C(history.json), from
    C(helm get values), C(helm get manifest) and C(helm history)) and, with O(database=exec) or O(database=auto),
    a C(pg_dump -Fc) archive C(db.dump) taken inside the chart's own PostgreSQL pod with that pod's credentials.
  - The helm reads and the dump run side by side, each writing straight to its file; every file is created
    mode 0600 (the values hold secrets) in a directory of mode 0700.
  - The dump is checked with C(pg_restore --list) when pg_restore is installed, and its size and sha256 go into
    C(manifest.json), which C(playbooks/restore.yml) reads. Then only the newest O(retention) backup
    directories beside O(path) are kept.
  - A database outside the chart is dumped by a Job (the role's C(db_job.yml)). For it, a first call with
    O(database=job) writes the helm state and returns RV(database.pending=true); once the Job's archive is
    at C(db.dump), a second call with O(database=file) and O(helm_state=false) checks it and completes the backup.
  - When a step fails, the directory is removed, so that no half backup is ever listed or restored.
  - Helm and kubectl read their connection settings from the environment (C(KUBECONFIG)), as on the command line.
requirements:
  - helm and kubectl on the host that runs the module
  - pg_restore (Debian C(postgresql-client)) to check the archive; without it the check is skipped and reported
options:
  path:
    description: The backup directory to create, conventionally C(<root>/<UTC timestamp>-r<revision>).
    type: path
    required: true
  release_name:
    description: Name of the Helm release.
    type: str
    required: true
  release_namespace:
    description: Namespace of the release (and of the PostgreSQL pod).
    type: str
    required: true
  revision:
    description: The deployed revision to back up.
    type: int
    required: true
  database:
    description:
      - V(auto) dumps inside the pod selected by O(pod_selector) when one is Running, else returns
        RV(database.pending=true) for a Job to take the dump.
      - V(exec) requires that pod and fails, writing nothing, without it.
      - V(job) writes only the helm state and returns RV(database.pending=true).
      - V(file) completes a backup whose C(db.dump) a Job has put into O(path).
      - V(none) backs up the helm state only.
    type: str
    choices: [auto, exec, job, file, none]
    default: auto
  helm_state:
    description: Write the helm state. V(false) only with O(database=file), whose first call wrote it.
    type: bool
    default: true
  pod_selector:
    description: Label selector of the chart's PostgreSQL pod.
    type: str
    default: ''
  container:
    description:
      - The PostgreSQL container of that pod.
      - Its environment has C(POSTGRES_USER), C(POSTGRES_PASSWORD) and C(POSTGRES_DB).
    type: str
    default: postgresql
  metadata:
    description: Extra keys for C(manifest.json), for example the environment, chart and app version.
    type: dict
    default: {}
  retention:
    description: How many backup directories beside O(path) to keep, this one included (at least 1).
    type: int
    default: 10
  helm_binary:
    description: The helm binary.
    type: path
    default: helm
  kubectl:
    description: The kubectl command, as a list (binary and global flags such as C(--context)).
    type: list
    elements: str
    default: [kubectl]
  pg_restore_binary:
    description: The pg_restore binary that checks the archive.
    type: path
    default: pg_restore
attributes:
  check_mode:
    description: Writes nothing; looks the PostgreSQL pod up and returns the files it would write.
    support: full
  diff_mode:
    description: Not supported.
    support: none
"""

EXAMPLES = r"""
- name: Back up the release and the chart's own database
  agent_service.platform.release_backup:
    path: /var/backups/agent-service/prod-agent-service/20261128T101500Z-r12
    release_name: agent-service
    release_namespace: prod
    revision: 12
    pod_selector: app.kubernetes.io/instance=agent-service,app.kubernetes.io/component=postgresql
    metadata:
      env: prod
    retention: 10
  register: backup

- name: After a Job put the dump of an external database into the directory, complete the backup
  agent_service.platform.release_backup:
    path: "{{ backup.path }}"
    release_name: agent-service
    release_namespace: prod
    revision: 12
    database: file
    helm_state: false
  when: backup.database.pending
"""

RETURN = r"""
path:
  description: The backup directory.
  returned: always
  type: str
manifest:
  description: The content of C(manifest.json) (empty while RV(database.pending)).
  returned: always
  type: dict
  sample: {"path": "/backups/dev-agent-service/20261128T101500Z-r3", "revision": 3, "release": "agent-service",
           "files": ["values.yaml", "manifest.yaml", "history.json", "db.dump"],
           "database": {"dumped": true, "bytes": 41873, "sha256": "9f2c...", "format": "custom", "method": "exec"}}
database:
  description: How the database was dumped.
  returned: always
  type: dict
  contains:
    method:
      description: V(exec), V(job), V(none), or V(pending).
      type: str
    pending:
      description: The helm state is written and a Job must now take the dump.
      type: bool
    pod:
      description: The pod the dump was taken in.
      type: str
    entries:
      description: Entries listed by C(pg_restore --list); null when pg_restore is not installed.
      type: int
removed:
  description: Backup directories removed by the retention.
  returned: always
  type: list
  elements: str
"""

import json
import os
import shutil
from datetime import UTC, datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.agent_service.platform.plugins.module_utils.release_backup import (
    DUMP_FILE,
    MANIFEST_FILE,
    BackupError,
    describe,
    describe_failures,
    first_cause,
    helm_state_commands,
    pod_dump_command,
    pod_lookup_command,
    private_file,
    retention_victims,
    run_to_files,
    running_pod,
    sha256_file,
    verify_dump,
)


def argument_spec():
    return dict(
        path=dict(type="path", required=True),
        release_name=dict(type="str", required=True),
        release_namespace=dict(type="str", required=True),
        revision=dict(type="int", required=True),
        database=dict(type="str", default="auto", choices=["auto", "exec", "job", "file", "none"]),
        helm_state=dict(type="bool", default=True),
        pod_selector=dict(type="str", default=""),
        container=dict(type="str", default="postgresql"),
        metadata=dict(type="dict", default={}),
        retention=dict(type="int", default=10),
        helm_binary=dict(type="path", default="helm"),
        kubectl=dict(type="list", elements="str", default=["kubectl"]),
        pg_restore_binary=dict(type="path", default="pg_restore"),
    )


def find_pod(module, params):
    if not params["pod_selector"]:
        raise BackupError(f"database={params['database']} needs pod_selector, the labels of the chart's PostgreSQL pod")
    rc, out, err = module.run_command(pod_lookup_command(params["kubectl"], params["release_namespace"],
                                                         params["pod_selector"]))
    if rc != 0:
        raise BackupError("could not list the PostgreSQL pods in {}: {}".format(
            params["release_namespace"], first_cause([(None, rc, err)])), err.strip())
    return running_pod(out)


def take(module, params):
    """Write the backup; returns the module result. Raises BackupError (the caller removes the directory)."""
    path, database = params["path"], params["database"]
    pod = None
    if database in ("auto", "exec"):
        pod = find_pod(module, params)
        if pod is None and database == "exec":
            raise BackupError(
                "database=exec but no Running pod matches {!r} in {}; use the Job (database=job) for an external "
                "database".format(params["pod_selector"], params["release_namespace"]))
    jobs = []
    if params["helm_state"]:
        jobs += [(argv, os.path.join(path, name)) for name, argv in helm_state_commands(
            params["helm_binary"], params["release_name"], params["release_namespace"], params["revision"])]
    if pod:
        jobs.append((pod_dump_command(params["kubectl"], params["release_namespace"], pod, params["container"]),
                     os.path.join(path, DUMP_FILE)))
    if module.check_mode:
        return dict(changed=True, path=path, manifest={}, removed=[],
                    database=dict(method="exec" if pod else database, pending=False, pod=pod, entries=None),
                    would_write=[os.path.basename(job[1]) for job in jobs])
    if database != "file":
        try:
            os.makedirs(path)  # under umask 077 (main), like every file of the backup
        except OSError as exc:  # read-only, full, or not ours: said plainly, not as a traceback
            raise BackupError(f"cannot create the backup directory {path}: {exc.strerror or exc}") from exc
    failures = run_to_files(jobs)
    if failures:
        raise BackupError(f"the backup of {params['release_name']} could not be written in {path}: "
                          f"{first_cause(failures)}", describe_failures(failures))
    dump_path = os.path.join(path, DUMP_FILE)
    if database == "file" and not os.path.isfile(dump_path):
        raise BackupError(f"database=file but {dump_path} does not exist")
    method = "exec" if pod else {"file": "job", "none": "none"}.get(database, "pending")
    pending = method == "pending"
    result = dict(changed=True, path=path, manifest={}, removed=[],
                  database=dict(method=method, pending=pending, pod=pod, entries=None))
    if pending:
        return result
    dump = {"dumped": False, "method": "none"}
    if method in ("exec", "job"):
        result["database"]["entries"] = verify_dump(params["pg_restore_binary"], dump_path)
        dump = {"dumped": True, "method": method, "bytes": os.path.getsize(dump_path), "sha256": sha256_file(dump_path)}
    manifest = describe(path, datetime.now(UTC).isoformat(), params["release_name"],
                        params["release_namespace"], params["revision"], params["metadata"], dump)
    with private_file(os.path.join(path, MANIFEST_FILE)) as out:
        out.write((json.dumps(manifest, indent=4, sort_keys=True) + "\n").encode("utf-8"))
    root = os.path.dirname(os.path.abspath(path))
    for name in retention_victims(os.listdir(root), params["retention"]):
        shutil.rmtree(os.path.join(root, name))
        result["removed"].append(name)
    result["manifest"] = manifest
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if params["retention"] < 1:
        module.fail_json(msg=f"retention must keep at least 1 backup, got {params['retention']}")
    if not params["helm_state"] and params["database"] != "file":
        module.fail_json(msg="helm_state=false is only for database=file, the second call of a Job-taken dump")
    if params["database"] != "file" and os.path.exists(params["path"]):
        module.fail_json(msg="{} already exists: a backup directory is never overwritten".format(params["path"]))
    os.umask(0o077)  # the directory and every file in it: the values hold secrets
    try:
        result = take(module, params)
    except BackupError as exc:
        if not module.check_mode:  # never leave a half backup (with database=file, the first call made it)
            shutil.rmtree(params["path"], ignore_errors=True)
        module.fail_json(msg=exc.msg, stderr=exc.detail, path=params["path"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
