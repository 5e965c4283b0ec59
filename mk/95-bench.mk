# Benchmarks (issue 9), on demand, never part of `make test`. Each writes JSON and a Markdown
# line into bench/results/. Run them on a quiet machine, one at a time:
#   P1 deploy overhead vs bare helm, P2 bad release Ready -> old revision serving,
#   P5 no-change re-run                                   make release-bench
#   P3 semver_next vs python-semantic-release, commitizen make semver-bench
#   P4 API /health vs bare FastAPI and hello-world, enqueue make api-bench
#   invocations/s through Celery vs a bare Celery task    make invocation-bench
#   P6 make cluster (warm), last make test, cold tools    make testbed-bench (stops the test bed's workloads)
#   cold make tools images in a clean room                make cold-build-bench (~1 h)
#   cold `make up` + `make test`, every cache moved aside  COLD_PATH_MOVE_CACHES=yes make cold-path-bench (~1 h)
.PHONY: bench api-bench invocation-bench release-bench testbed-bench cold-build-bench cold-path-bench
bench: semver-bench api-bench invocation-bench release-bench testbed-bench ## P1-P6 into bench/results (not cold-build-bench)

api-bench: venv debs ## P4: the API's /health vs bare FastAPI and a hello-world; enqueue latency at 100/s
	@$(PY) bench/api_bench.py

invocation-bench: venv debs ## invocations/s: API -> Celery -> worker -> PostgreSQL vs a bare Celery task
	@$(PY) bench/invocation_bench.py

release-bench: e2e-prereqs e2e-images ## P1, P2, P5 on the test bed: pipeline vs bare helm, rollback time, no-change re-run
	@KUBECONFIG=$(E2E_KUBECONFIG) $(PY) bench/release_bench.py

testbed-bench: venv cluster ## P6: make cluster (warm) x3, the last make test, the cold build
	@$(PY) bench/testbed_bench.py

cold-build-bench: ## cold make tools images with empty caches, beside the warm ones
	@nice -n 10 bash bench/cold_build.sh

cold-path-bench: ## README's make up + make test from a fresh clone with every cache moved aside (restored afterwards)
	@bash bench/cold_path.sh
