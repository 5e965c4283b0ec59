# End to end (issue 7): the Molecule scenarios default, rollback and backup_restore run the
# collection's playbooks on the test bed (or on the cluster KUBECONFIG names). Each
# scenario is one JUnit case under $(RESULTS)/e2e; logs and reports stay in .cache/e2e/.
E2E_SCENARIOS ?= default rollback backup_restore
E2E_APP_IMAGE ?= $(APP_IMAGE)
E2E_KUBECONFIG = $${KUBECONFIG:-$(KUBECONFIG_TESTBED)}

.PHONY: e2e e2e-prereqs e2e-scenario e2e-live
e2e-prereqs: venv collection helm-diff cluster app-image chart-images

e2e: e2e-prereqs ## Molecule scenarios on the test bed: deploy, canary, rollback, pending recovery, backup/restore
	@rc=0; for s in $(E2E_SCENARIOS); do \
	  E2E_APP_IMAGE=$(E2E_APP_IMAGE) KUBECONFIG=$(E2E_KUBECONFIG) \
	    $(CHECK) e2e molecule-$$s -- molecule test -s $$s || rc=1; \
	done; exit $$rc

e2e-scenario: e2e-prereqs ## one scenario: make e2e-scenario S=rollback (add E2E_KEEP=1 to keep the namespace)
	@E2E_APP_IMAGE=$(E2E_APP_IMAGE) KUBECONFIG=$(E2E_KUBECONFIG) molecule test -s $(S)

e2e-live: venv collection ## helm_rollback against the real API server (tests/e2e)
	@KUBECONFIG=$(E2E_KUBECONFIG) $(PY) -m pytest -q -p no:cacheprovider tests/e2e --junitxml=$(RESULTS)/e2e/helm_rollback_live.xml
