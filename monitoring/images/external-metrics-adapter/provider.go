package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/klog/v2"
	"k8s.io/metrics/pkg/apis/external_metrics"
	"sigs.k8s.io/yaml"

	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

// Query templates use << >> as delimiters: {{ }} would be taken by Helm and Ansible (Jinja2),
// which render the configuration, and PromQL has no << or >> token.
const (
	leftDelim  = "<<"
	rightDelim = ">>"
)

// Config is the adapter's configuration file (a ConfigMap): external metric name -> rule.
//
//	externalMetrics:
//	  celery_queue_length:
//	    query: 'max by (queue) (celery_queue_length{namespace="<<.Namespace>>",<<.Selector>>})'
//	    labels: [queue]
type Config struct {
	ExternalMetrics map[string]MetricRule `json:"externalMetrics"`
}

// MetricRule turns a request for one external metric into one PromQL query.
type MetricRule struct {
	// Query is a text/template (delimiters << >>) of a PromQL expression with the fields of QueryArgs.
	Query string `json:"query"`
	// Labels the HPA's metric selector may use; a selector on any other label is refused.
	Labels []string `json:"labels"`
}

// QueryArgs are the template variables of MetricRule.Query. Both are safe to paste into
// PromQL: Namespace inside a double-quoted string, Selector between the braces of a
// series selector (after other matchers and a comma; a trailing comma is valid PromQL).
type QueryArgs struct {
	// Namespace of the request (the HPA's namespace), a DNS label.
	Namespace string
	// Selector is the metric selector as comma-separated PromQL label matchers with quoted,
	// escaped values (queue="agents"); empty for an empty selector.
	Selector string
}

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	namespaceRE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
)

// rule is a MetricRule with its template parsed.
type rule struct {
	tmpl   *template.Template
	labels []string
}

// LoadConfig reads and checks the configuration file.
func LoadConfig(path string) (map[string]rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(data)
}

// ParseConfig checks the configuration and parses every query template.
func ParseConfig(data []byte) (map[string]rule, error) {
	var cfg Config
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(cfg.ExternalMetrics) == 0 {
		return nil, errors.New("config: externalMetrics defines no metric")
	}
	rules := make(map[string]rule, len(cfg.ExternalMetrics))
	for name, r := range cfg.ExternalMetrics {
		if !metricNameRE.MatchString(name) {
			return nil, fmt.Errorf("config: %q is not a valid metric name", name)
		}
		if strings.TrimSpace(r.Query) == "" {
			return nil, fmt.Errorf("config: metric %s has no query", name)
		}
		for _, l := range r.Labels {
			if !labelNameRE.MatchString(l) || strings.HasPrefix(l, "__") || l == "namespace" {
				return nil, fmt.Errorf("config: metric %s: %q cannot be a selector label (a Prometheus label name, "+
					"not reserved, not namespace: the request's namespace sets it)", name, l)
			}
		}
		t, err := template.New(name).Delims(leftDelim, rightDelim).Option("missingkey=error").Parse(r.Query)
		if err != nil {
			return nil, fmt.Errorf("config: metric %s: %w", name, err)
		}
		// render once with sample values so that unknown fields fail at start-up, not per request
		if err := t.Execute(io.Discard, QueryArgs{Namespace: "default", Selector: `a="b"`}); err != nil {
			return nil, fmt.Errorf("config: metric %s: %w", name, err)
		}
		rules[name] = rule{tmpl: t, labels: slices.Clone(r.Labels)}
	}
	return rules, nil
}

// quote returns s as a double-quoted PromQL string literal (PromQL strings use Go's escapes).
func quote(s string) string {
	return strconv.Quote(s)
}

// SelectorMatchers turns a Kubernetes label selector into PromQL label matchers, refusing
// labels outside allowed and operators PromQL cannot express.
func SelectorMatchers(sel labels.Selector, allowed []string) (string, error) {
	if sel == nil || sel.Empty() {
		return "", nil
	}
	reqs, selectable := sel.Requirements()
	if !selectable {
		return "", errors.New("the selector matches nothing")
	}
	var out []string
	for _, r := range reqs {
		key := r.Key()
		if !slices.Contains(allowed, key) {
			return "", fmt.Errorf("label %q may not be selected (allowed: %s)", key, strings.Join(allowed, ", "))
		}
		values := r.Values().List() // sorted
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals:
			out = append(out, key+"="+quote(values[0]))
		case selection.NotEquals:
			out = append(out, key+"!="+quote(values[0]))
		case selection.In:
			out = append(out, key+"=~"+quote(alternation(values)))
		case selection.NotIn:
			out = append(out, key+"!~"+quote(alternation(values)))
		case selection.Exists:
			out = append(out, key+`!=""`)
		case selection.DoesNotExist:
			out = append(out, key+`=""`)
		default:
			return "", fmt.Errorf("operator %q of label %q is not supported", r.Operator(), key)
		}
	}
	return strings.Join(out, ","), nil
}

// alternation is a regular expression that matches exactly one of values (PromQL anchors it).
func alternation(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return strings.Join(quoted, "|")
}

// BuildQuery renders the PromQL query of rule r for a namespace and a metric selector.
func BuildQuery(r rule, namespace string, sel labels.Selector) (string, error) {
	if !namespaceRE.MatchString(namespace) {
		return "", fmt.Errorf("namespace %q is not a DNS label", namespace)
	}
	matchers, err := SelectorMatchers(sel, r.labels)
	if err != nil {
		return "", err
	}
	// the namespace is a DNS label (no quote or backslash); escape it all the same
	ns := quote(namespace)
	var buf bytes.Buffer
	if err := r.tmpl.Execute(&buf, QueryArgs{Namespace: ns[1 : len(ns)-1], Selector: matchers}); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// promResponse is the body of Prometheus' /api/v1/query.
type promResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// sampleValue reads Prometheus' [<unix seconds>, "<value>"] pair.
func sampleValue(pair [2]any) (time.Time, float64, error) {
	ts, ok := pair[0].(float64)
	if !ok {
		return time.Time{}, 0, fmt.Errorf("bad sample timestamp %v", pair[0])
	}
	s, ok := pair[1].(string)
	if !ok {
		return time.Time{}, 0, fmt.Errorf("bad sample value %v", pair[1])
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("bad sample value %q", s)
	}
	sec, frac := math.Modf(ts)
	return time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond)), v, nil
}

// quantity converts a sample value; NaN and infinities have no Quantity.
func quantity(v float64) (resource.Quantity, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return resource.Quantity{}, false
	}
	if math.Abs(v) < 9e15 { // fits int64 in milli-units
		return *resource.NewMilliQuantity(int64(math.Round(v*1000)), resource.DecimalSI), true
	}
	q, err := resource.ParseQuantity(strconv.FormatFloat(v, 'f', 0, 64))
	return q, err == nil
}

// ToExternalMetrics converts the data of a Prometheus instant query (vector or scalar) into
// the list the HPA reads: one item per sample, labelled with the series' labels.
func ToExternalMetrics(metric string, resultType string, result json.RawMessage) (*external_metrics.ExternalMetricValueList, error) {
	list := &external_metrics.ExternalMetricValueList{Items: []external_metrics.ExternalMetricValue{}}
	add := func(lbls map[string]string, pair [2]any) error {
		ts, v, err := sampleValue(pair)
		if err != nil {
			return err
		}
		q, ok := quantity(v)
		if !ok {
			klog.V(2).InfoS("skipping a sample without a finite value", "metric", metric, "labels", lbls, "value", v)
			return nil
		}
		out := map[string]string{}
		for k, val := range lbls {
			if k != "__name__" {
				out[k] = val
			}
		}
		list.Items = append(list.Items, external_metrics.ExternalMetricValue{
			MetricName: metric, MetricLabels: out, Timestamp: metav1.NewTime(ts), Value: q,
		})
		return nil
	}
	switch resultType {
	case "vector":
		var samples []promSample
		if err := json.Unmarshal(result, &samples); err != nil {
			return nil, fmt.Errorf("bad vector result: %w", err)
		}
		for _, s := range samples {
			if err := add(s.Metric, s.Value); err != nil {
				return nil, err
			}
		}
		// stable order (Prometheus does not sort vectors)
		sort.SliceStable(list.Items, func(i, j int) bool {
			return labels.Set(list.Items[i].MetricLabels).String() < labels.Set(list.Items[j].MetricLabels).String()
		})
	case "scalar":
		var pair [2]any
		if err := json.Unmarshal(result, &pair); err != nil {
			return nil, fmt.Errorf("bad scalar result: %w", err)
		}
		if err := add(nil, pair); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("the query returned a %s; it must return an instant vector or a scalar", resultType)
	}
	return list, nil
}

// Prometheus runs instant queries against Prometheus' HTTP API.
type Prometheus struct {
	URL    string
	Client *http.Client
}

// errUnreachable marks failures to reach Prometheus or to read its answer.
var errUnreachable = errors.New("prometheus unreachable")

// Query runs an instant query and returns the result type and raw result.
func (p *Prometheus) Query(ctx context.Context, query string) (string, json.RawMessage, error) {
	endpoint := strings.TrimRight(p.URL, "/") + "/api/v1/query"
	form := url.Values{"query": {query}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.Client.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", errUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return "", nil, fmt.Errorf("%w: reading the answer: %v", errUnreachable, err)
	}
	var pr promResponse
	if err := json.Unmarshal(body, &pr); err != nil {
		return "", nil, fmt.Errorf("%w: HTTP %d from %s: %.200s", errUnreachable, resp.StatusCode, endpoint, body)
	}
	if pr.Status != "success" {
		return "", nil, fmt.Errorf("prometheus refused the query %s: %s: %s", query, pr.ErrorType, pr.Error)
	}
	return pr.Data.ResultType, pr.Data.Result, nil
}

// querier is what the provider needs from Prometheus (a fake in the tests).
type querier interface {
	Query(ctx context.Context, query string) (string, json.RawMessage, error)
}

// PromProvider serves the configured external metrics from Prometheus.
type PromProvider struct {
	rules map[string]rule
	prom  querier
}

var _ provider.ExternalMetricsProvider = (*PromProvider)(nil)

// NewPromProvider returns a provider for the rules of a configuration.
func NewPromProvider(rules map[string]rule, prom querier) *PromProvider {
	return &PromProvider{rules: rules, prom: prom}
}

func (p *PromProvider) names() []string {
	names := make([]string, 0, len(p.rules))
	for n := range p.rules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// GetExternalMetric answers GET /apis/external.metrics.k8s.io/v1beta1/namespaces/<ns>/<metric>?labelSelector=...
func (p *PromProvider) GetExternalMetric(ctx context.Context, namespace string, sel labels.Selector,
	info provider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	r, ok := p.rules[info.Metric]
	if !ok {
		return nil, &apierrors.StatusError{ErrStatus: metav1.Status{
			Status: metav1.StatusFailure, Code: http.StatusNotFound, Reason: metav1.StatusReasonNotFound,
			Details: &metav1.StatusDetails{Group: external_metrics.GroupName, Kind: "ExternalMetricValue", Name: info.Metric},
			Message: fmt.Sprintf("the server could not find the external metric %s: this adapter's configuration "+
				"defines %s", info.Metric, strings.Join(p.names(), ", ")),
		}}
	}
	query, err := BuildQuery(r, namespace, sel)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("external metric %s: %v", info.Metric, err))
	}
	resultType, result, err := p.prom.Query(ctx, query)
	if err != nil {
		klog.ErrorS(err, "query failed", "metric", info.Metric, "namespace", namespace, "query", query)
		if errors.Is(err, errUnreachable) {
			return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("external metric %s: %v", info.Metric, err))
		}
		return nil, apierrors.NewInternalError(fmt.Errorf("external metric %s: %w", info.Metric, err))
	}
	list, err := ToExternalMetrics(info.Metric, resultType, result)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("external metric %s: query %s: %w", info.Metric, query, err))
	}
	klog.V(4).InfoS("external metric", "metric", info.Metric, "namespace", namespace, "query", query, "items", len(list.Items))
	return list, nil
}

// ListAllExternalMetrics lists the configured metrics (API discovery).
func (p *PromProvider) ListAllExternalMetrics() []provider.ExternalMetricInfo {
	out := make([]provider.ExternalMetricInfo, 0, len(p.rules))
	for _, n := range p.names() {
		out = append(out, provider.ExternalMetricInfo{Metric: n})
	}
	return out
}
