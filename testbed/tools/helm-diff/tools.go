//go:build tools

// Package tools only records, for `go mod tidy`, which commands this module builds.
package tools

import _ "github.com/databus23/helm-diff/v3"
