// Command cert-manager-controller runs cert-manager's controllers on the test bed.
//
// cert-manager's own controller binary lives in its cmd/controller module, which the Go
// module proxy does not serve; the root module github.com/cert-manager/cert-manager does
// serve the controllers themselves (pkg/controller/...). Each controller package registers a
// constructor with controller.Register in its init function; this program imports the
// packages the test bed needs, builds one controller.ContextFactory and runs every
// registered controller until SIGINT/SIGTERM.
//
// What runs: Issuer and ClusterIssuer readiness (CA and SelfSigned issuer types), the
// Certificate controllers (trigger, keymanager, requestmanager, issuing, readiness,
// revisionmanager), the CertificateRequest approver and the CA and SelfSigned signers, and
// the ingress-shim (an Ingress annotated cert-manager.io/cluster-issuer or
// cert-manager.io/issuer with a tls: block gets a Certificate).
//
// What does not run: ACME (Let's Encrypt cannot be reached from the test bed), Vault,
// Venafi, the Gateway API shim, the CertificateSigningRequest controllers, the webhook and
// the cainjector. There is a single replica, so there is no leader election.
//
// Flags: --kubeconfig (default: in-cluster), --cluster-resource-namespace (default
// cert-manager), --healthz-port (default 9403), --concurrent-workers, and klog's -v.
// A bad command line exits with status 2 and a message naming the flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"

	"github.com/cert-manager/cert-manager/pkg/apis/certmanager"
	"github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"

	// Each import registers its controller(s) with controller.Register.
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/ingresses"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"

	// The issuers and clusterissuers controllers look issuer types up in pkg/issuer's
	// registry; these imports register the CA and SelfSigned types there.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

const name = "cert-manager-controller"

// sourceSum is a hash of this file, set by testbed/ingress/cert-manager.sh with -ldflags -X
// so that the build stamp changes with the source; logged at start to tell builds apart.
var sourceSum = "unknown"

// options holds the command line; everything else is a fixed test-bed choice in contextOptions.
type options struct {
	kubeconfig               string
	clusterResourceNamespace string
	healthzPort              int
	workers                  int
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run returns the process exit code: 0 after a clean shutdown, 1 when the controller fails,
// 2 on a bad command line.
func run(args []string) int {
	opts, err := parseFlags(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}

	// klog is cert-manager's logging backend (pkg/logs wraps it); contextual logging lets
	// each controller name itself in its log lines.
	logf.InitLogs()
	defer logf.FlushLogs()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, logf.Log, "controller")
	log := logf.FromContext(ctx)
	log.Info("starting", "version", util.AppVersion, "source", sourceSum,
		"clusterResourceNamespace", opts.clusterResourceNamespace)

	if err := serve(ctx, opts); err != nil {
		log.Error(err, "cert-manager controller failed")
		return 1
	}
	log.Info("cert-manager controller stopped")
	return 0
}

// parseFlags reads the command line. Errors name the offending flag; the flag package also
// prints the usage text to stderr.
func parseFlags(args []string) (options, error) {
	opts := options{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&opts.kubeconfig, "kubeconfig", "",
		"path to a kubeconfig; empty means the in-cluster service account")
	fs.StringVar(&opts.clusterResourceNamespace, "cluster-resource-namespace", "cert-manager",
		"namespace holding the Secrets that ClusterIssuers refer to (the CA key pair of a CA ClusterIssuer)")
	fs.IntVar(&opts.healthzPort, "healthz-port", 9403,
		"port of the HTTP server answering /healthz (200 once the informer caches are synced)")
	fs.IntVar(&opts.workers, "concurrent-workers", 5, "worker goroutines per controller")
	klog.InitFlags(fs) // -v, -vmodule, ...: klog verbosity (2 = info, 4 = debug)
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	switch {
	case fs.NArg() > 0:
		return opts, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case opts.clusterResourceNamespace == "":
		return opts, errors.New("--cluster-resource-namespace must not be empty: ClusterIssuers need it")
	case opts.healthzPort < 1 || opts.healthzPort > 65535:
		return opts, fmt.Errorf("--healthz-port must be within 1-65535, got %d", opts.healthzPort)
	case opts.workers < 1:
		return opts, fmt.Errorf("--concurrent-workers must be at least 1, got %d", opts.workers)
	}
	if opts.kubeconfig != "" {
		if _, err := os.Stat(opts.kubeconfig); err != nil {
			return opts, fmt.Errorf("--kubeconfig: %w", err)
		}
	}
	return opts, nil
}

// contextOptions are the settings every controller reads from its controller.Context. The
// values not taken from the command line are cert-manager's own defaults (its
// ControllerConfiguration v1alpha1 defaults) where they matter for the controllers we run.
func contextOptions(opts options) controller.ContextOptions {
	return controller.ContextOptions{
		Kubeconfig:         opts.kubeconfig, // empty: in-cluster config
		KubernetesAPIQPS:   20,              // used only when the API server has no API Priority and Fairness
		KubernetesAPIBurst: 50,
		Namespace:          "", // watch every namespace (ClusterIssuers need that)
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace: opts.clusterResourceNamespace,
			// CA and SelfSigned issuers take no cloud credentials; keep ambient ones off.
			ClusterIssuerAmbientCredentials: false,
			IssuerAmbientCredentials:        false,
		},
		IngressShimOptions: controller.IngressShimOptions{
			// No default issuer: an Ingress must name its issuer in an annotation.
			DefaultIssuerKind:                 "Issuer",
			DefaultIssuerGroup:                certmanager.GroupName,
			DefaultAutoCertificateAnnotations: []string{"kubernetes.io/tls-acme"},
			GatewayAPIExtraProtocols:          sets.New[string](),
		},
		CertificateOptions: controller.CertificateOptions{
			// Copy a Certificate's annotations to its CertificateRequests, except the
			// bookkeeping ones of kubectl and GitOps tools.
			CopiedAnnotationPrefixes:                 []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: 60},
	}
}

// serve starts the healthz server and every registered controller, and blocks until ctx is
// cancelled or one of them fails.
func serve(ctx context.Context, opts options) error {
	log := logf.FromContext(ctx)

	// Listen first: a taken port fails the start at once, before any API call.
	lc := net.ListenConfig{}
	healthzLn, err := lc.Listen(ctx, "tcp", fmt.Sprintf(":%d", opts.healthzPort))
	if err != nil {
		return fmt.Errorf("healthz listener: %w", err)
	}

	factory, err := controller.NewContextFactory(ctx, contextOptions(opts))
	if err != nil {
		healthzLn.Close()
		return fmt.Errorf("building the controller context: %w", err)
	}
	// The base context shares its informer factories with every controller's context.
	base, err := factory.Build()
	if err != nil {
		healthzLn.Close()
		return fmt.Errorf("building the controller context: %w", err)
	}

	// cancel stops everything when a controller cannot be constructed; the errgroup also
	// cancels ctx as soon as one of its goroutines returns an error.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)

	var synced atomic.Bool
	healthz := &http.Server{Handler: healthzHandler(ctx, &synced), ReadHeaderTimeout: 10 * time.Second}
	g.Go(func() error {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return healthz.Shutdown(shutdownCtx) //nolint:contextcheck // ctx is already done here
	})
	g.Go(func() error {
		log.Info("serving /healthz", "address", healthzLn.Addr().String())
		if err := healthz.Serve(healthzLn); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("healthz server: %w", err)
		}
		return nil
	})

	// Construct every controller before starting the informer factories: constructing one
	// registers the informers it needs, and a factory only starts the informers it knows.
	names := slices.Sorted(maps.Keys(controller.Known()))
	log.Info("starting controllers", "controllers", names)
	for _, n := range names {
		ctrl, err := controller.Known()[n](factory)
		if err != nil {
			cancel()
			return errors.Join(fmt.Errorf("constructing controller %s: %w", n, err), g.Wait())
		}
		g.Go(func() error {
			if err := ctrl.Run(opts.workers, ctx); err != nil {
				return fmt.Errorf("controller %s: %w", n, err)
			}
			return nil
		})
	}

	base.SharedInformerFactory.Start(ctx.Done())
	base.KubeSharedInformerFactory.Start(ctx.Done())
	// Only ACME HTTP-01 uses this one (none of ours registers an informer there); starting an
	// empty factory costs nothing and keeps a future controller from waiting forever.
	base.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	g.Go(func() error {
		ok := allTrue(base.SharedInformerFactory.WaitForCacheSync(ctx.Done())) &&
			allTrue(base.KubeSharedInformerFactory.WaitForCacheSync(ctx.Done()))
		if ok {
			synced.Store(true)
			log.Info("informer caches synced")
		}
		return nil
	})

	err = g.Wait()
	base.SharedInformerFactory.Shutdown()
	base.KubeSharedInformerFactory.Shutdown()
	base.HTTP01ResourceMetadataInformersFactory.Shutdown()
	return err
}

// healthzHandler answers /healthz: 200 once the informer caches are synced, 503 before that
// and after shutdown began. The kubelet's readiness and liveness probes use it.
func healthzHandler(ctx context.Context, synced *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case ctx.Err() != nil:
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		case !synced.Load():
			http.Error(w, "informer caches not synced yet", http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "ok")
		}
	})
	return mux
}

func allTrue[K comparable](m map[K]bool) bool {
	for _, v := range m {
		if !v {
			return false
		}
	}
	return true
}
