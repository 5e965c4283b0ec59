//go:build tools

// Package tools only records, for `go mod tidy`, which commands this module builds.
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/server/v3"
)
