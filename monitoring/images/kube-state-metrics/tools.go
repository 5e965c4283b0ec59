//go:build tools

// Package tools pins kube-state-metrics for the image built by monitoring/images/build.sh.
package tools

import (
	_ "k8s.io/kube-state-metrics/v2"
)
