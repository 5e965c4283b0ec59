//go:build tools

// Package tools pins the Prometheus server of the operator-mode image. Debian's
// prometheus package is built without Kubernetes service discovery, which the
// operator's generated configuration needs, so the server is built from the Go module
// proxy (Prometheus v3.5.0 = module version v0.305.0, the operator's default).
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
)
