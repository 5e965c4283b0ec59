//go:build tools

// Package tools pins VictoriaLogs (Apache-2.0), the log store of the log aggregation
// (issue 22). build.sh builds its single-node server, app/victoria-logs, from the Go
// module proxy; the version must equal the victoria-logs tag in images.env.
package tools

import (
	_ "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs"
)
