#!/usr/bin/env python3
"""Release pipeline benchmark (on demand, not part of `make test`).

    KUBECONFIG=... .venv/bin/python bench/release_bench.py [--rounds 3]

Measured side by side on the same cluster, for the same change (image 1.0.0 -> 2.0.0 of
the dev values), in alternating rounds (odd rounds time the pipeline first); the median and
the spread (min, max) are reported, with each round's own ratio:

1. bare: ``helm upgrade --install --wait`` followed by one GET /health through the Service
   (API server service proxy);
2. pipeline: ``ansible-playbook playbooks/deploy.yml`` with analysis off (preflight, render,
   backup incl. pg_dump Job, diff, atomic upgrade, smoke incl. a Celery invocation, report).

Two ratios, side by side from the same rounds: the backup + diff + upgrade + smoke stages
(from the run's report; `helm diff` and the values' validation are timed in the diff stage,
where they run) over bare, and the whole playbook's wall time over bare (it adds Ansible's
start, preflight, version, render and the report; goal <= 1.5). Each round first puts both
releases back on 1.0.0 (not timed). Then a release that is Ready but fails 50 % of requests
(3.0.0, FAULT_ERROR_RATE=0.5) goes through the pipeline with a 10 s analysis interval; the
report's seconds_ready_to_restored is the time from the bad release being Ready to the old
revision serving again (goal <= 45 s).
Writes bench/results/release_bench.json and appends a line to bench/results/release_bench.md;
the per-task profile of the timed pipeline runs and of the no-change re-runs (from the
ansible.posix.json callback) goes to bench/results/release_profile.{json,md}.
A no-change re-run of the pipeline (2.0.0 again) gives its wall time and changed count (P5).
The images localhost/agent-service:{1.0.0,2.0.0,3.0.0} must exist (make e2e prepares them).
Without BENCH_PROMETHEUS_URL, a host Prometheus (Debian's) scraping the test bed's API pods is
started on 127.0.0.1:59160, as the Molecule scenarios do (molecule/shared/files/pod_sd.py).
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import release_profile

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "helm" / "agent-service"
RESULTS = ROOT / "bench" / "results"
BIN = Path(os.environ.get("BIN_DIR", Path.home() / ".cache/agent-service-platform/bin"))
SECRETS = {"secrets": {"postgresPassword": "bench-postgres-password", "redisPassword": "bench-redis-password"}}


def sh(argv, **kw):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kw)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv[:4]))} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def helm_upgrade(release, namespace, version, values_file):
    sh([str(BIN / "helm"), "upgrade", "--install", release, str(CHART), "-n", namespace, "--create-namespace",
        "-f", str(CHART / "values-dev.yaml"), "-f", values_file, "--set", f"image.tag={version}", "--wait",
        "--timeout", "5m"])


def curl_health(release, namespace):
    sh([str(BIN / "kubectl"), "get", "--raw", f"/api/v1/namespaces/{namespace}/services/{release}:http/proxy/health"])


def pipeline(namespace, version, work, extra=None, profile=None):
    """Run playbooks/deploy.yml; with ``profile`` (a list), append the run's task timeline to it."""
    args = {"release_namespace": namespace, "release_version": version, "release_env": "dev",
            "release_inventory_env": "dev", "release_chart_path": str(CHART), "release_analysis_enabled": False,
            "release_backup_dir": f"{work}/backups", "release_report_dir": f"{work}/reports",
            "release_values": SECRETS, "release_fail_on_rollback": False}
    args.update(extra or {})
    vars_file = Path(work) / "vars.json"
    vars_file.write_text(json.dumps(args))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".cache" / "collections"),
               PATH=f"{BIN}:{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}")
    if profile is not None:
        # the JSON stdout callback records each task's start and end; it prints once, at the end
        env.update(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    started = time.time()
    out = sh([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventories" / "dev"),
              str(ROOT / "playbooks" / "deploy.yml"), "-e", f"@{vars_file}"], env=env)
    if profile is not None:
        profile.append(release_profile.timeline(json.loads(out[out.index("{"):]), started, time.time()))
    return out


@contextlib.contextmanager
def host_prometheus(work):
    """Yield a Prometheus URL: BENCH_PROMETHEUS_URL, or a host Prometheus of ours."""
    if os.environ.get("BENCH_PROMETHEUS_URL"):
        yield os.environ["BENCH_PROMETHEUS_URL"]
        return
    port, work = 59160, Path(work)
    (work / "pods.json").write_text("[]")
    (work / "prometheus.yml").write_text(json.dumps({
        "global": {"scrape_interval": "5s", "scrape_timeout": "4s", "evaluation_interval": "5s"},
        "scrape_configs": [{"job_name": "agent-service",
                            "file_sd_configs": [{"files": [str(work / "pods.json")], "refresh_interval": "5s"}]}]}))
    kubeconfig = os.environ.get("KUBECONFIG", str(ROOT / ".testbed" / "kubeconfig"))
    procs = [subprocess.Popen([sys.executable, str(ROOT / "molecule/shared/files/pod_sd.py"), str(BIN / "kubectl"),
                               kubeconfig, str(work / "pods.json"), "2"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL),
             subprocess.Popen(["prometheus", f"--config.file={work / 'prometheus.yml'}",
                               f"--storage.tsdb.path={work / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)


# the definition of the deploy overhead: these stages, without the analysis window
# (and without preflight/version/render, Ansible's own start and the report)
DEPLOY_STAGES = ("backup", "diff", "upgrade", "smoke")


def newest_report(work):
    return json.loads(Path(sorted(glob.glob(f"{work}/reports/*.json"))[-1]).read_text())


def spread(values):
    """[median, min, max] of values, rounded."""
    return [round(statistics.median(values), 2), round(min(values), 2), round(max(values), 2)]


def timed(fn, *args, **kw):
    start = time.monotonic()
    fn(*args, **kw)
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    opts = parser.parse_args()
    bare_ns, pipe_ns = "bench-bare", "bench-pipeline"
    bare, piped, rerun, stages, profiled, profiled_rerun = [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as work, host_prometheus(work) as prometheus_url:
        values_file = Path(work) / "secrets.yaml"
        values_file.write_text(json.dumps(SECRETS))
        for round_ in range(opts.rounds):
            helm_upgrade("agent-service", bare_ns, "1.0.0", str(values_file))
            pipeline(pipe_ns, "1.0.0", work)

            def run_bare():
                bare.append(timed(lambda: (helm_upgrade("agent-service", bare_ns, "2.0.0", str(values_file)),
                                           curl_health("agent-service", bare_ns))))

            def run_pipeline():
                piped.append(timed(pipeline, pipe_ns, "2.0.0", work, profile=profiled))
                stages.append(newest_report(work)["timings"])

            # alternating: odd rounds time the pipeline first, so that neither side always runs
            # on the cluster the other one has just loaded
            for run in ((run_bare, run_pipeline) if round_ % 2 == 0 else (run_pipeline, run_bare)):
                run()
            start = time.monotonic()
            pipeline(pipe_ns, "2.0.0", work, profile=profiled_rerun)  # P5: nothing to change
            rerun.append((time.monotonic() - start, profiled_rerun[-1]["changed"]))
        pipeline(pipe_ns, "3.0.0", work, {"release_analysis_enabled": True, "release_analysis_interval": "10s",
                                          "release_analysis_count": 3, "release_analysis_window": "30s",
                                          "release_analysis_initial_delay": "15s",
                                          "release_prometheus_url": prometheus_url,
                                          "release_extra_values": {"config": {"faultErrorRate": 0.5}}})
        report = json.loads(Path(sorted(glob.glob(f"{work}/reports/*rolled_back.json"))[-1]).read_text())
    for ns in (bare_ns, pipe_ns):
        subprocess.run([str(BIN / "kubectl"), "delete", "namespace", ns, "--wait=false"], check=False,
                       capture_output=True)
    result = {
        "rounds": opts.rounds,
        "bare_seconds": [round(x, 1) for x in bare],
        "pipeline_seconds": [round(x, 1) for x in piped],
        "bare_median": round(statistics.median(bare), 1),
        "pipeline_median": round(statistics.median(piped), 1),
        "overhead_ratio": round(statistics.median(piped) / statistics.median(bare), 2),
        "deploy_stage_seconds": [round(sum(float(t.get(k, 0)) for k in DEPLOY_STAGES), 1) for t in stages],
        "deploy_stage_timings": stages,
        "no_change_rerun_seconds": [round(x, 1) for x, _ in rerun],
        "no_change_rerun_median": round(statistics.median(x for x, _ in rerun), 1),
        "no_change_rerun_changed": [c for _, c in rerun],
        "pipeline_stage_timings_last_bad_release": report["timings"],
        "seconds_ready_to_restored": report["seconds_ready_to_restored"],
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    result["deploy_stage_median"] = round(statistics.median(result["deploy_stage_seconds"]), 1)
    result["deploy_stage_ratio"] = round(result["deploy_stage_median"] / result["bare_median"], 2)
    # the spread: each round's own ratio (same round, same cluster load), their median, min and max
    for key, series in (("deploy_stage", result["deploy_stage_seconds"]), ("overhead", piped)):
        ratios = [x / b for x, b in zip(series, bare, strict=True)]
        result[f"{key}_round_ratios"] = [round(r, 2) for r in ratios]
        result[f"{key}_ratio_spread"] = spread(ratios)
    result["bare_spread"] = spread(bare)
    result["pipeline_spread"] = spread(piped)
    RESULTS.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                            text=True, check=False).stdout.strip()
    result["commit"] = commit
    release_profile.write(RESULTS, result["at"], commit, {"release (1.0.0 -> 2.0.0)": profiled,
                                                          "no-change re-run (2.0.0 again)": profiled_rerun})
    (RESULTS / "release_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    with (RESULTS / "release_bench.md").open("a") as out:
        stage_spread, whole_spread = result["deploy_stage_ratio_spread"], result["overhead_ratio_spread"]
        out.write(f"- {result['at']} ({opts.rounds} alternating rounds; median [min-max]): bare helm+curl "
                  f"{result['bare_median']} s [{result['bare_spread'][1]}-{result['bare_spread'][2]}]; "
                  f"backup+diff+upgrade+smoke {result['deploy_stage_median']} s = {result['deploy_stage_ratio']}x, "
                  f"per round {stage_spread[0]}x [{stage_spread[1]}-{stage_spread[2]}]; whole playbook "
                  f"{result['pipeline_median']} s = {result['overhead_ratio']}x, per round {whole_spread[0]}x "
                  f"[{whole_spread[1]}-{whole_spread[2]}] (goal <= 1.5); "
                  f"bad release Ready -> old revision serving {result['seconds_ready_to_restored']} s (goal <= 45); "
                  f"no-change re-run {result['no_change_rerun_median']} s, "
                  f"changed={result['no_change_rerun_changed']}\n")
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
