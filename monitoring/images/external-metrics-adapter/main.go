// external-metrics-adapter serves external.metrics.k8s.io/v1beta1 from Prometheus: each
// external metric of its configuration file is a PromQL template filled with the request's
// namespace and label selector. Built on sigs.k8s.io/custom-metrics-apiserver (serving,
// delegated authentication and authorization come from it and take its standard flags:
// --secure-port, --cert-dir, --tls-cert-file, ...).
package main

import (
	"context"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/component-base/logs"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"

	"sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver/metrics"
	basecmd "sigs.k8s.io/custom-metrics-apiserver/pkg/cmd"
)

type adapter struct {
	basecmd.AdapterBase

	prometheusURL string
	configPath    string
	queryTimeout  time.Duration
}

func main() {
	logs.InitLogs()
	defer logs.FlushLogs()

	a := &adapter{}
	a.Name = "external-metrics-adapter"
	flags := a.Flags()
	flags.StringVar(&a.prometheusURL, "prometheus-url", "http://prometheus-operated.monitoring.svc:9090",
		"URL of the Prometheus HTTP API")
	flags.StringVar(&a.configPath, "config", "/etc/external-metrics-adapter/config.yaml",
		"configuration file: externalMetrics: {<metric>: {query: <PromQL template>, labels: [<selectable label>...]}}")
	flags.DurationVar(&a.queryTimeout, "prometheus-timeout", 10*time.Second, "timeout of one Prometheus query")
	logs.AddFlags(flags)
	if err := flags.Parse(os.Args); err != nil {
		klog.Fatalf("unable to parse flags: %v", err)
	}

	rules, err := LoadConfig(a.configPath)
	if err != nil {
		klog.Fatalf("unable to load the configuration %s: %v", a.configPath, err)
	}
	prom := &Prometheus{URL: a.prometheusURL, Client: &http.Client{Timeout: a.queryTimeout}}
	p := NewPromProvider(rules, prom)
	a.WithExternalMetrics(p)
	if err := metrics.RegisterMetrics(legacyregistry.Register); err != nil {
		klog.Fatalf("unable to register metrics: %v", err)
	}
	klog.InfoS("serving external metrics", "metrics", p.names(), "prometheus", a.prometheusURL)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := a.Run(ctx); err != nil {
		klog.Fatalf("unable to run the external metrics adapter: %v", err)
	}
}
