//go:build tools

// Package tools pins the prometheus-operator commands that the operator image ships.
// The upstream module carries replace directives (its own submodules), so it cannot
// be built with `go install pkg@version`; this module requires the published
// submodules at the same version instead. Built by monitoring/images/build.sh.
package tools

import (
	_ "github.com/prometheus-operator/prometheus-operator/cmd/operator"
	_ "github.com/prometheus-operator/prometheus-operator/cmd/prometheus-config-reloader"
)
