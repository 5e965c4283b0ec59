#!/bin/sh
# The test bed's NetworkPolicy firewall (kube-router) admits a new pod's address one to a few
# seconds after the pod starts (testbed/README.md, "Known limits"), and the seed's smoke test runs
# curl once, from a new pod, to an API behind a policy. So the stand-in waits that long, then runs
# its arguments as given: `kubectl run test --image=curlimages/curl -- curl -f URL` runs curl.
sleep "${TESTBED_POLICY_LAG_SECONDS:-5}"
exec "$@"
