# Debian packages (the only system-level dependencies). Services are not started here:
# package maintainer scripts are told not to start daemons (policy-rc.d), the tests
# start what they need themselves on loopback ports.
DEBS_STAMP := $(CACHE_DIR)/stamps/debs-$(shell echo '$(DEB_PACKAGES)' | md5sum | cut -c1-8)

.PHONY: debs
debs: $(DEBS_STAMP) ## apt-get the Debian packages listed in versions.env

$(DEBS_STAMP):
	@mkdir -p $(dir $@)
	@bash scripts/install-debs.sh $(DEB_PACKAGES)
	@promtool --version 2>&1 | grep -q 'version $(PROMETHEUS_DEB_UPSTREAM)' || { echo "promtool is not $(PROMETHEUS_DEB_UPSTREAM)"; exit 1; }
	@amtool --version 2>&1 | grep -q 'version $(ALERTMANAGER_DEB_UPSTREAM)' || { echo "amtool is not $(ALERTMANAGER_DEB_UPSTREAM)"; exit 1; }
	@touch $@
