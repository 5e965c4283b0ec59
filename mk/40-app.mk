# The Agent Service (app/): tests against real PostgreSQL, Redis and Celery worker
# processes (started by the tests on loopback ports 55432, 56379, 58000-58099), the
# offline wheelhouse, and the container image.
APP_DIR        := $(ROOT)/app
APP_WHEELHOUSE ?= $(CACHE_DIR)/wheelhouse/app
# The tag follows the last commit that touched app/, so other areas' commits keep it.
APP_IMAGE_TAG  ?= $(or $(shell git -C $(ROOT) log -1 --format=%h -- app 2>/dev/null),dev)
APP_IMAGE      ?= localhost/agent-service:$(APP_IMAGE_TAG)
APP_PYTEST_ARGS ?=

.PHONY: app-test app-wheelhouse app-image
app-test: venv debs otelcol ## app: pytest against real PostgreSQL/Redis/Celery + a real OTel collector (JUnit in $(RESULTS)/app)
	@mkdir -p $(RESULTS)/app
	@cd $(APP_DIR) && $(PY) -m pytest -q -p no:cacheprovider --junitxml=$(RESULTS)/app/pytest.xml \
	  -o junit_family=xunit2 $(APP_PYTEST_ARGS)

app-wheelhouse: venv ## app: wheels of app/requirements.txt for the offline image build
	@mkdir -p $(APP_WHEELHOUSE)
	@# The host is Debian bookworm with CPython 3.11, like the image: its wheels fit.
	@nice $(PY) -m pip wheel -q --no-deps -r $(APP_DIR)/requirements.txt -w $(APP_WHEELHOUSE)
	@echo ">> app: wheelhouse $(APP_WHEELHOUSE) ($$(ls $(APP_WHEELHOUSE) | wc -l) wheels)"

app-image: app-wheelhouse ## app: build localhost/agent-service:<tag> (offline, test bed Debian base)
	@ctx=$$(mktemp -d) && trap 'rm -rf "$$ctx"' EXIT \
	  && cp -r $(APP_DIR)/app $(APP_DIR)/alembic $(APP_DIR)/alembic.ini $(APP_DIR)/docker-entrypoint.sh \
	       $(APP_DIR)/requirements.txt $(APP_DIR)/Dockerfile "$$ctx"/ \
	  && find "$$ctx" -name __pycache__ -prune -exec rm -rf {} + \
	  && mkdir -p "$$ctx/wheelhouse" && cp $(APP_WHEELHOUSE)/*.whl "$$ctx/wheelhouse/" \
	  && if [ -x $(ROOT)/testbed/images/build.sh ]; then \
	       bash $(ROOT)/testbed/images/build.sh $(APP_IMAGE) "$$ctx" --build-arg APP_VERSION=$(APP_IMAGE_TAG); \
	     else \
	       echo ">> app: testbed/images/build.sh missing, plain docker build"; \
	       docker build --build-arg BASE_IMAGE=$${BASE_IMAGE:-localhost/testbed/debian-base:bookworm} \
	         --build-arg APP_VERSION=$(APP_IMAGE_TAG) -t $(APP_IMAGE) "$$ctx"; \
	     fi
	@echo ">> app: built $(APP_IMAGE)"

# $(call app-image-as,IMAGE,VERSIONS): tag IMAGE as localhost/agent-service:<version> for each
# version and import the tags into the test bed (the e2e scenarios, benches and fault matrix
# deploy the same build under several release versions)
app-image-as = for v in $(2); do docker tag $(1) localhost/agent-service:$$v; done \
  && bash $(ROOT)/testbed/images/import.sh $(addprefix localhost/agent-service:,$(2))

.PHONY: app-image-smoke
app-image-smoke: venv ## app: run the built image as the chart does (migrate, api, worker) and check it
	@$(PY) $(APP_DIR)/scripts/image_smoke.py $(APP_IMAGE)
