package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

const celeryConfig = `
externalMetrics:
  celery_queue_length:
    query: 'max by (queue) (celery_queue_length{namespace="<<.Namespace>>",<<.Selector>>})'
    labels: [queue]
  everything:
    query: 'sum(up{namespace="<<.Namespace>>",<<.Selector>>})'
    labels: [queue, job]
`

func mustRules(t *testing.T, config string) map[string]rule {
	t.Helper()
	rules, err := ParseConfig([]byte(config))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	return rules
}

func mustSelector(t *testing.T, s string) labels.Selector {
	t.Helper()
	sel, err := labels.Parse(s)
	if err != nil {
		t.Fatalf("labels.Parse(%q): %v", s, err)
	}
	return sel
}

func TestParseConfigRefusesBadConfigs(t *testing.T) {
	cases := map[string]string{
		"empty":             `externalMetrics: {}`,
		"unknown key":       "externalMetrics:\n  m:\n    query: up\n    lables: [a]\n",
		"bad metric name":   "externalMetrics:\n  'bad-name':\n    query: up\n",
		"no query":          "externalMetrics:\n  m:\n    labels: [a]\n",
		"namespace label":   "externalMetrics:\n  m:\n    query: up\n    labels: [namespace]\n",
		"reserved label":    "externalMetrics:\n  m:\n    query: up\n    labels: [__name__]\n",
		"invalid label":     "externalMetrics:\n  m:\n    query: up\n    labels: [app.kubernetes.io/name]\n",
		"template syntax":   "externalMetrics:\n  m:\n    query: 'up{<<.Selector>}'\n",
		"unknown variable":  "externalMetrics:\n  m:\n    query: 'up{ns=\"<<.Nmespace>>\"}'\n",
		"not a mapping":     "externalMetrics: [a, b]\n",
		"top-level unknown": "metrics: {}\n",
	}
	for name, config := range cases {
		if _, err := ParseConfig([]byte(config)); err == nil {
			t.Errorf("%s: ParseConfig accepted %q", name, config)
		}
	}
}

func TestBuildQuery(t *testing.T) {
	rules := mustRules(t, celeryConfig)
	cases := []struct{ selector, want string }{
		{"queue=agents", `max by (queue) (celery_queue_length{namespace="ns-1",queue="agents"})`},
		{"queue==agents", `max by (queue) (celery_queue_length{namespace="ns-1",queue="agents"})`},
		{"", `max by (queue) (celery_queue_length{namespace="ns-1",})`},
		{"queue!=default", `max by (queue) (celery_queue_length{namespace="ns-1",queue!="default"})`},
		// values are sorted, regexp metacharacters escaped, the backslash escaped for the PromQL string
		{"queue in (priority,a.b)", `max by (queue) (celery_queue_length{namespace="ns-1",queue=~"a\\.b|priority"})`},
		{"queue notin (x)", `max by (queue) (celery_queue_length{namespace="ns-1",queue!~"x"})`},
		{"queue", `max by (queue) (celery_queue_length{namespace="ns-1",queue!=""})`},
		{"!queue", `max by (queue) (celery_queue_length{namespace="ns-1",queue=""})`},
	}
	for _, c := range cases {
		got, err := BuildQuery(rules["celery_queue_length"], "ns-1", mustSelector(t, c.selector))
		if err != nil {
			t.Errorf("%q: %v", c.selector, err)
			continue
		}
		if got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.selector, got, c.want)
		}
	}
	got, err := BuildQuery(rules["everything"], "ns-1", mustSelector(t, "queue=agents,job=worker"))
	if err != nil || got != `sum(up{namespace="ns-1",job="worker",queue="agents"})` {
		t.Errorf("two labels: %s, %v", got, err)
	}
	got, err = BuildQuery(rules["celery_queue_length"], "ns-1", nil)
	if err != nil || got != `max by (queue) (celery_queue_length{namespace="ns-1",})` {
		t.Errorf("nil selector: %s, %v", got, err)
	}
}

func TestBuildQueryRefusesWhatTheConfigDoesNotAllow(t *testing.T) {
	rules := mustRules(t, celeryConfig)
	r := rules["celery_queue_length"]
	for _, selector := range []string{
		"job=worker",            // not in the rule's labels
		"queue=agents,job=x",    // one allowed, one not
		"namespace=other",       // would widen the namespace scoping
		"queue>3",               // no PromQL equivalent
		"app.kubernetes.io/x=y", // not even a Prometheus label name
	} {
		if q, err := BuildQuery(r, "ns-1", mustSelector(t, selector)); err == nil {
			t.Errorf("%q accepted: %s", selector, q)
		}
	}
	for _, ns := range []string{"", `a"b`, "UPPER", "a b", strings.Repeat("a", 64)} {
		if q, err := BuildQuery(r, ns, labels.Everything()); err == nil {
			t.Errorf("namespace %q accepted: %s", ns, q)
		}
	}
}

func TestValuesCannotInjectPromQL(t *testing.T) {
	// label selector values are validated by Kubernetes, but the escaping must hold on its own
	for in, want := range map[string]string{
		`x"}) or vector(1) #`: `"x\"}) or vector(1) #"`,
		`a\"b`:                `"a\\\"b"`,
		"line\nbreak":         `"line\nbreak"`,
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
	if got := alternation([]string{"a|b", "c.*"}); got != `a\|b|c\.\*` {
		t.Errorf("alternation: %s", got)
	}
}

func TestToExternalMetricsVector(t *testing.T) {
	result := json.RawMessage(`[
	  {"metric": {"__name__": "celery_queue_length", "queue": "priority"}, "value": [1700000000.5, "0.5"]},
	  {"metric": {"queue": "agents"}, "value": [1700000000.5, "12"]},
	  {"metric": {"queue": "gone"}, "value": [1700000000.5, "NaN"]}
	]`)
	list, err := ToExternalMetrics("celery_queue_length", "vector", result)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Fatalf("want 2 items (NaN skipped), got %+v", list.Items)
	}
	agents, priority := list.Items[0], list.Items[1]
	if agents.MetricLabels["queue"] != "agents" || agents.Value.String() != "12" || agents.MetricName != "celery_queue_length" {
		t.Errorf("agents: %+v (value %s)", agents, agents.Value.String())
	}
	if _, ok := priority.MetricLabels["__name__"]; ok || priority.Value.String() != "500m" {
		t.Errorf("priority: %+v (value %s)", priority, priority.Value.String())
	}
	if want := time.Unix(1700000000, 500*int64(time.Millisecond)); !agents.Timestamp.Time.Equal(want) {
		t.Errorf("timestamp %v, want %v", agents.Timestamp.Time, want)
	}
}

func TestToExternalMetricsScalarEmptyAndErrors(t *testing.T) {
	list, err := ToExternalMetrics("m", "scalar", json.RawMessage(`[1700000000, "42.25"]`))
	if err != nil || len(list.Items) != 1 || list.Items[0].Value.MilliValue() != 42250 || len(list.Items[0].MetricLabels) != 0 {
		t.Errorf("scalar: %+v, %v", list, err)
	}
	list, err = ToExternalMetrics("m", "vector", json.RawMessage(`[]`))
	if err != nil || list.Items == nil || len(list.Items) != 0 {
		t.Errorf("empty vector: %+v, %v", list, err)
	}
	big, err := ToExternalMetrics("m", "scalar", json.RawMessage(`[1700000000, "1e18"]`))
	if err != nil || big.Items[0].Value.Cmp(resource.MustParse("1e18")) != 0 {
		t.Errorf("big value: %+v, %v", big, err)
	}
	for rt, raw := range map[string]string{
		"matrix": `[{"metric": {}, "values": [[1, "1"]]}]`,
		"string": `[1, "x"]`,
		"vector": `[{"metric": {}, "value": [1, "not-a-number"]}]`,
	} {
		if _, err := ToExternalMetrics("m", rt, json.RawMessage(raw)); err == nil {
			t.Errorf("%s %s accepted", rt, raw)
		}
	}
}

type fakeProm struct {
	queries    []string
	resultType string
	result     string
	err        error
}

func (f *fakeProm) Query(_ context.Context, q string) (string, json.RawMessage, error) {
	f.queries = append(f.queries, q)
	return f.resultType, json.RawMessage(f.result), f.err
}

func TestGetExternalMetric(t *testing.T) {
	prom := &fakeProm{resultType: "vector", result: `[{"metric": {"queue": "agents"}, "value": [1700000000, "7"]}]`}
	p := NewPromProvider(mustRules(t, celeryConfig), prom)
	ctx := context.Background()

	list, err := p.GetExternalMetric(ctx, "mon-live", mustSelector(t, "queue=agents"),
		provider.ExternalMetricInfo{Metric: "celery_queue_length"})
	if err != nil || len(list.Items) != 1 || list.Items[0].Value.Value() != 7 {
		t.Fatalf("got %+v, %v", list, err)
	}
	if want := `max by (queue) (celery_queue_length{namespace="mon-live",queue="agents"})`; prom.queries[0] != want {
		t.Errorf("query %s, want %s", prom.queries[0], want)
	}

	_, err = p.GetExternalMetric(ctx, "mon-live", labels.Everything(), provider.ExternalMetricInfo{Metric: "nope"})
	if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "celery_queue_length, everything") {
		t.Errorf("unknown metric: %v", err)
	}
	_, err = p.GetExternalMetric(ctx, "mon-live", mustSelector(t, "job=x"), provider.ExternalMetricInfo{Metric: "celery_queue_length"})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), `label "job" may not be selected`) {
		t.Errorf("refused selector: %v", err)
	}
	if len(prom.queries) != 1 {
		t.Errorf("refused requests reached Prometheus: %v", prom.queries)
	}

	prom.err = fmt.Errorf("%w: dial tcp: connection refused", errUnreachable)
	_, err = p.GetExternalMetric(ctx, "mon-live", labels.Everything(), provider.ExternalMetricInfo{Metric: "celery_queue_length"})
	if !apierrors.IsServiceUnavailable(err) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("unreachable: %v", err)
	}
	prom.err = errors.New("prometheus refused the query: bad_data: parse error")
	_, err = p.GetExternalMetric(ctx, "mon-live", labels.Everything(), provider.ExternalMetricInfo{Metric: "celery_queue_length"})
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), "parse error") {
		t.Errorf("refused query: %v", err)
	}

	names := p.ListAllExternalMetrics()
	if len(names) != 2 || names[0].Metric != "celery_queue_length" || names[1].Metric != "everything" {
		t.Errorf("ListAllExternalMetrics: %+v", names)
	}
}

func TestPrometheusClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/prom/api/v1/query" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		switch q := r.FormValue("query"); q {
		case "good":
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		case "bad":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"parse error"}`)
		default:
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>bad gateway</html>")
		}
	}))
	defer srv.Close()
	p := &Prometheus{URL: srv.URL + "/prom/", Client: srv.Client()}
	ctx := context.Background()
	if rt, res, err := p.Query(ctx, "good"); err != nil || rt != "vector" || string(res) != "[]" {
		t.Errorf("good: %s %s %v", rt, res, err)
	}
	if _, _, err := p.Query(ctx, "bad"); err == nil || errors.Is(err, errUnreachable) || !strings.Contains(err.Error(), "bad_data: parse error") {
		t.Errorf("bad: %v", err)
	}
	if _, _, err := p.Query(ctx, "proxy"); !errors.Is(err, errUnreachable) || !strings.Contains(err.Error(), "HTTP 502") {
		t.Errorf("proxy error: %v", err)
	}
	srv.Close()
	if _, _, err := p.Query(ctx, "good"); !errors.Is(err, errUnreachable) {
		t.Errorf("closed server: %v", err)
	}
}

// The metric map that roles/monitoring_stack ships by default is a valid configuration and
// builds the query the chart's worker HPA needs.
func TestRoleDefaultConfig(t *testing.T) {
	data, err := os.ReadFile("../../../roles/monitoring_stack/defaults/main.yml")
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("not in the collection's checkout")
	}
	if err != nil {
		t.Fatal(err)
	}
	var defaults map[string]any
	if err := yaml.Unmarshal(data, &defaults); err != nil {
		t.Fatal(err)
	}
	config, err := yaml.Marshal(map[string]any{"externalMetrics": defaults["monitoring_stack_external_metrics"]})
	if err != nil {
		t.Fatal(err)
	}
	rules := mustRules(t, string(config))
	got, err := BuildQuery(rules["celery_queue_length"], "agent-service", mustSelector(t, "queue=agents"))
	if want := `max by (queue) (celery_queue_length{namespace="agent-service",queue="agents"})`; err != nil || got != want {
		t.Errorf("got %s, %v; want %s", got, err, want)
	}
}
