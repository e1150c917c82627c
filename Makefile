# mailsec.mta_sts: developer and CI commands. `make help` lists them.
#
# `make test` is what CI runs (.ci/run). It sets the machine up once (Debian
# packages, a pinned tool venv, community.crypto, the ansible-test get-pip
# stand-in; stamp files inside .venv and .cache make later runs skip it all),
# copies the tree to where ansible-test wants a collection, runs every suite
# even after a failure, and ends with one "N passed, N failed" line.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
# Each recipe is one bash script: `exit` ends it, variables carry across lines.
.ONESHELL:
# Suites share build/ and the lab's fixed ports: one thing at a time.
.NOTPARALLEL:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --no-print-directory

# --- Paths (other suites may rely on these) ---------------------------------

PYTHON ?= python3.11
PYTHON_VERSION := 3.11
VENV := $(CURDIR)/.venv
VENV_BIN := $(VENV)/bin
CACHE := $(CURDIR)/.cache
# `make test` reads per-suite "skipped" markers from here.
RESULTS := $(CACHE)/results

# ansible-test needs the collection at .../ansible_collections/<ns>/<name>,
# physically (a symlink is refused), so `make build` copies the tree there.
BUILD := $(CURDIR)/build
COLLECTION := $(BUILD)/ansible_collections/mailsec/mta_sts
DIST := $(BUILD)/dist
# The build copy lies inside this git work tree, where it is ignored: left to
# itself ansible-test would find the outer .git and see no files at all.
# Pointing it at the copy makes it list the copy's files as they are.
ANSIBLE_TEST := env ANSIBLE_TEST_CONTENT_ROOT=$(COLLECTION) ansible-test

# Galaxy is unreachable here; collections we depend on come out of the
# `ansible` community package on PyPI (see tests/setup/extract_collections.py).
ANSIBLE_BUNDLE_VERSION := 12.3.0
DEPENDENCY_COLLECTIONS := community.crypto
DEPS_COLLECTIONS := $(CACHE)/collections

# Setup stamps, each inside what it vouches for: remove .venv or .cache and
# the matching setup step runs again.
VENV_STAMP := $(VENV)/.installed-requirements-dev
DEPS_STAMP := $(DEPS_COLLECTIONS)/.extracted-from-ansible-$(ANSIBLE_BUNDLE_VERSION)

# The lab: a loopback DNS/ACME/SMTP world in a private network namespace.
LAB_RUN := $(CURDIR)/tests/lab/run

# Every recipe sees the venv's tools first (molecule needs ansible-config on
# PATH) and finds collections in build/: the copy under test and, beside it,
# the collections it depends on (ansible-test sets ANSIBLE_COLLECTIONS_PATH to
# that one root itself, so dependencies have to live there).
export PATH := $(VENV_BIN):$(subst $(VENV_BIN):,,$(PATH))
export ANSIBLE_COLLECTIONS_PATH := $(BUILD)

# Debian packages the tests and the lab need, in one place (README.md and
# docs/development.md list them: keep them in step).
APT_PACKAGES := \
	bind9-dnsutils ca-certificates curl git iproute2 knot knot-dnsutils make \
	nginx openssl pebble postfix postfix-mta-sts-resolver procps python3-venv rsync shellcheck util-linux

# Extra arguments, e.g. `make integration INTEGRATION_ARGS="-vvv policy"`.
INTEGRATION_ARGS ?=
MOLECULE_ARGS ?=

# Packages from APT_PACKAGES that are not installed (evaluated when used).
missing_packages = $(shell for p in $(APT_PACKAGES); do \
	dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -qx 'install ok installed' || echo "$$p"; done)

# $(call skip,reason): report a suite as skipped to `make test`, then stop the recipe.
skip = { echo "SKIPPED $@: $(1)"; mkdir -p $(RESULTS); echo "$(1)" > $(RESULTS)/$@.skipped; exit 0; }

# $(call in_lab,command...): run a command inside the lab if the lab exists.
# The lab runs the command in its own network namespace, with the venv first
# on PATH and the collection paths above; without tests/lab/run it runs here.
in_lab = $(if $(wildcard $(LAB_RUN)),$(LAB_RUN) --,) env PATH="$$PATH" ANSIBLE_COLLECTIONS_PATH="$$ANSIBLE_COLLECTIONS_PATH" $(1)

# Refuse the lab suites when its Debian packages are missing (non-root setup).
lab_packages_or_skip = if [ -e $(LAB_RUN) ] && [ -n "$(strip $(missing_packages))" ]; then \
	$(call skip,lab packages missing: $(strip $(missing_packages)) - run make setup as root); fi

.PHONY: help
help: ## List the targets
	@echo "Usage: make TARGET"
	@echo
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{ printf "  %-13s %s\n", $$1, $$2 }'

# --- Setup --------------------------------------------------------------------

.PHONY: setup
setup: packages $(VENV_STAMP) $(DEPS_STAMP) ansible-test-cache ## Install what the tests need (once; stamps make reruns fast)

.PHONY: packages
packages:
	@missing="$(strip $(missing_packages))"
	if [ -z "$$missing" ]; then echo "Debian packages: all present"; exit 0; fi
	if [ "$$(id -u)" != 0 ]; then
	  echo "Debian packages missing (not root, not installing): $$missing"
	  echo "  as root: apt-get install -y --no-install-recommends $$missing"
	  echo "  the lab suites (integration, molecule) will be skipped"
	  exit 0
	fi
	# Only the missing ones (nothing already installed is upgraded here); their
	# servers neither start nor stay enabled system-wide (the script says how).
	tests/setup/apt_install.sh $$missing

# Re-runs when the pins change. pip's output goes to a log (it is long).
$(VENV_STAMP): tests/requirements-dev.txt
	@[ -x $(VENV_BIN)/python ] || $(PYTHON) -m venv $(VENV)
	mkdir -p $(CACHE)
	echo "Installing tools into $(VENV) (log: $(CACHE)/pip-install.log)"
	$(VENV_BIN)/python -m pip install --disable-pip-version-check -r tests/requirements-dev.txt \
	  > $(CACHE)/pip-install.log 2>&1 || { tail -n 40 $(CACHE)/pip-install.log; exit 1; }
	$(VENV_BIN)/ansible --version | sed -n 1p
	touch $@

$(DEPS_STAMP): tests/setup/extract_collections.py | $(VENV_STAMP)
	@echo "Extracting $(DEPENDENCY_COLLECTIONS) from ansible==$(ANSIBLE_BUNDLE_VERSION) into $(DEPS_COLLECTIONS)"
	mkdir -p $(CACHE)
	rm -rf $(CACHE)/downloads
	$(VENV_BIN)/python -m pip download --disable-pip-version-check -q --no-deps ansible==$(ANSIBLE_BUNDLE_VERSION) \
	  -d $(CACHE)/downloads 2> $(CACHE)/pip-download.log || { cat $(CACHE)/pip-download.log; exit 1; }
	$(VENV_BIN)/python tests/setup/extract_collections.py $(CACHE)/downloads/ansible-$(ANSIBLE_BUNDLE_VERSION)-*.whl \
	  $(DEPS_COLLECTIONS) $(DEPENDENCY_COLLECTIONS)
	rm -rf $(CACHE)/downloads $(DEPS_COLLECTIONS)/.extracted-from-ansible-*
	touch $@

# ansible-test bootstraps each venv it makes with a get-pip script downloaded
# from a host these machines cannot reach; it looks in its cache first, so
# put an offline stand-in there (tests/setup/get_pip_standin.py says how).
.PHONY: ansible-test-cache
ansible-test-cache: $(VENV_STAMP)
	@$(VENV_BIN)/python tests/setup/seed_get_pip.py

# --- Build --------------------------------------------------------------------

# $(call copy_tree,DIR): the tree as git sees it (ignored files left out) into DIR.
copy_tree = mkdir -p $(1) && rsync -a --delete --delete-excluded \
	  --filter='P /tests/output/' \
	  --exclude=/.git --exclude=/.venv/ --exclude=/build/ --exclude=/.cache/ --exclude=/tests/output/ \
	  --filter=':- .gitignore' \
	  ./ $(1)/

# A fresh copy: files deleted or newly ignored in the tree vanish from the copy
# too; only ansible-test's own output there is kept between runs. The
# dependency collections are copied beside it.
.PHONY: build
build: $(DEPS_STAMP) ## Copy the tree to build/ansible_collections/mailsec/mta_sts
	@$(call copy_tree,$(COLLECTION))
	for fqcn in $(DEPENDENCY_COLLECTIONS); do
	  path=ansible_collections/$${fqcn/.//}
	  mkdir -p $(BUILD)/$$path
	  rsync -a --delete $(DEPS_COLLECTIONS)/$$path/ $(BUILD)/$$path/
	done
	echo "Built $(COLLECTION) (with $(DEPENDENCY_COLLECTIONS) beside it)"

# docs/rules.md and the findings table of docs/verify.md come from the rule
# catalogue, plugins/module_utils/model/_rules.py; a unit test fails when the
# committed files differ from what this writes.
.PHONY: docs
docs: ## Regenerate docs/rules.md and verify.md's findings table from the rule catalogue
	@$(PYTHON) tests/docs/rules_docs.py

# --- Suites -------------------------------------------------------------------

# ansible-lint exits 0 when the profile it was asked for is not met, and it
# only logs the exceptions of its schema checks; both fail here, as does any
# warning (--strict).
.PHONY: lint
lint: setup build ## ansible-lint (production profile, offline; fails on any finding)
	@log=$(CACHE)/ansible-lint.log
	status=0
	NO_COLOR=1 ansible-lint --offline --strict 2>&1 | tee $$log || status=$$?
	if grep -E "Profile '[a-z]+' was required, but|Ignored exception|that are fatal" $$log; then
	  echo "make lint: ansible-lint did not fully pass (the lines above); fix the findings"
	  exit 1
	fi
	exit $$status

.PHONY: sanity
sanity: setup build ## ansible-test sanity (no ignore files)
	@if ls tests/sanity/ignore-*.txt 2>/dev/null; then
	  echo "sanity must pass without ignore files: fix the findings instead"; exit 1
	fi
	cd $(COLLECTION)
	set -x
	$(ANSIBLE_TEST) sanity --venv --python $(PYTHON_VERSION)

.PHONY: units
units: setup build ## ansible-test units
	@[ -n "$$(find tests/unit -name 'test_*.py' -print -quit)" ] || $(call skip,no unit tests in tests/unit)
	cd $(COLLECTION)
	set -x
	$(ANSIBLE_TEST) units --venv --python $(PYTHON_VERSION)

.PHONY: integration
integration: setup build ## ansible-test integration, all targets, inside the lab
	@[ -n "$$(find tests/integration/targets -mindepth 1 -maxdepth 1 -type d -print -quit)" ] \
	  || $(call skip,no targets in tests/integration/targets)
	$(lab_packages_or_skip)
	cd $(COLLECTION)
	set -x
	$(call in_lab,$(ANSIBLE_TEST) integration --local --python $(PYTHON_VERSION) \
	  --python-interpreter $(VENV_BIN)/python -v $(INTEGRATION_ARGS))

# The lab's own tests: smoke (DNS, HTTPS, STARTTLS, ACME, RFC 2136), every
# fixture plays its mistake, the peers agree, and teardown leaves nothing.
# They start labs themselves, from the host, so they run from the source tree.
.PHONY: lab
lab: setup ## The lab's own tests (smoke, fixtures, peers, teardown)
	@[ -x $(LAB_RUN) ] || $(call skip,no lab yet)
	$(lab_packages_or_skip)
	[ "$$(id -u)" = 0 ] || $(call skip,the lab tests need root)
	$(VENV_BIN)/python -m pytest -q -p no:cacheprovider tests/lab/tests

# Scenarios: extensions/molecule/<name>/molecule.yml (collection mode, run from
# the collection root) and roles/<role>/molecule/<name>/molecule.yml (run from
# the role). Each runs in a lab of its own.
.PHONY: molecule
molecule: setup build ## Every molecule scenario, each inside the lab
	@cd $(COLLECTION)
	scenarios=$$(find extensions/molecule roles -name molecule.yml -path '*molecule/*' 2>/dev/null | sort || true)
	[ -n "$$scenarios" ] || $(call skip,no molecule scenarios)
	$(lab_packages_or_skip)
	failed=0
	for file in $$scenarios; do
	  scenario_dir=$$(dirname "$$file")
	  case "$$scenario_dir" in
	    extensions/molecule/*) base=.; name=$${scenario_dir#extensions/molecule/} ;;
	    *) base=$${scenario_dir%/molecule/*}; name=$$(basename "$$scenario_dir") ;;
	  esac
	  echo "==> molecule test -s $$name (in $$base)"
	  (cd "$$base" && $(call in_lab,molecule test -s "$$name" $(MOLECULE_ARGS))) || { echo "FAILED: $$file"; failed=1; }
	done
	exit $$failed

# --- Installing from a checkout -------------------------------------------------

# Where `make install` puts the collections: Ansible's default user path, so
# that ansible-playbook and ansible-doc find them with no configuration.
INSTALL_COLLECTIONS_PATH ?= $(HOME)/.ansible/collections
INSTALL_WORK := $(BUILD)/install

# Offline on purpose: Galaxy is never called. community.crypto comes from the
# first of: the target path (kept as it is), .cache/collections (make setup),
# any copy this ansible-galaxy already sees (the `ansible` package bundles it).
.PHONY: install
install: ## Build the collection and install it with community.crypto into INSTALL_COLLECTIONS_PATH, offline
	@command -v ansible-galaxy > /dev/null || { echo "make install: no ansible-galaxy on PATH; install ansible-core 2.17+ (or run make setup for .venv)"; exit 1; }
	dest=$$(mkdir -p "$(INSTALL_COLLECTIONS_PATH)" && cd "$(INSTALL_COLLECTIONS_PATH)" && pwd)
	# Its own copy and output directory: the test suites' build/ stays as it is.
	$(call copy_tree,$(INSTALL_WORK)/mta_sts)
	rm -rf $(INSTALL_WORK)/dist
	ansible-galaxy collection build --output-path $(INSTALL_WORK)/dist $(INSTALL_WORK)/mta_sts > /dev/null
	tarball=$$(ls $(INSTALL_WORK)/dist/mailsec-mta_sts-*.tar.gz)
	crypto=
	if [ -d "$$dest/ansible_collections/community/crypto" ]; then
	  echo "community.crypto: already in $$dest, kept"
	elif [ -f "$(DEPS_COLLECTIONS)/ansible_collections/community/crypto/MANIFEST.json" ]; then
	  crypto=$(DEPS_COLLECTIONS)/ansible_collections/community/crypto
	else
	  crypto=$$(env -u ANSIBLE_COLLECTIONS_PATH ansible-galaxy collection list community.crypto --format json 2> /dev/null \
	    | $(PYTHON) -c 'import json, sys; paths = [p for p, c in json.load(sys.stdin).items() if "community.crypto" in c]; print(paths[0] + "/community/crypto" if paths else "")' 2> /dev/null || true)
	  [ -n "$$crypto" ] || { echo "make install: community.crypto not found; run make setup (it fetches it from PyPI once), or install it into $$dest"; exit 1; }
	fi
	requirements=$(INSTALL_WORK)/dist/requirements.yml
	{ echo "collections:"; echo "  - {name: '$$tarball', type: file}"
	  [ -z "$$crypto" ] || echo "  - {name: '$$crypto', type: dir}"; } > "$$requirements"
	ANSIBLE_COLLECTIONS_PATH="$$dest" ansible-galaxy collection install --offline --force -r "$$requirements" -p "$$dest" > $(INSTALL_WORK)/dist/install.log 2>&1 \
	  || { cat $(INSTALL_WORK)/dist/install.log; exit 1; }
	# ansible-doc exits 0 even when it finds nothing: look for the path.
	ANSIBLE_COLLECTIONS_PATH="$$dest" ansible-doc mailsec.mta_sts.policy 2> /dev/null | grep -q "$$dest/ansible_collections/mailsec/mta_sts" \
	  || { echo "make install: ansible-doc does not find mailsec.mta_sts.policy in $$dest"; exit 1; }
	env ANSIBLE_COLLECTIONS_PATH="$$dest" ansible-galaxy collection list -p "$$dest" 2> /dev/null | grep -E '^(mailsec\.mta_sts|community\.crypto) '
	echo "Installed into $$dest (from $$tarball, offline)."
	if env -u ANSIBLE_COLLECTIONS_PATH ansible-config dump 2> /dev/null | grep -E '^COLLECTIONS_PATHS' | grep -qF "$$dest"; then
	  echo "Ansible looks there by default: ansible-doc mailsec.mta_sts.policy works as is."
	else
	  echo "Ansible does not look there by default: export ANSIBLE_COLLECTIONS_PATH=$$dest (or set collections_path in ansible.cfg)."
	fi
	python=$$(ansible --version 2> /dev/null | sed -n 's/.*python version = .*(\(\/[^)]*\)).*/\1/p')
	if [ -n "$$python" ] && ! "$$python" -c 'import dns' 2> /dev/null; then
	  echo "The controller Python ($$python) lacks dnspython: $$python -m pip install -r requirements.txt"
	fi

# A venv with only ansible-core and requirements.txt imports every plugin,
# the documented requirements agree with requirements.txt, and cert_coverage
# works with the system python3's own cryptography (tests/deps/run.sh).
.PHONY: deps-test
deps-test: setup build ## Import every plugin in a venv holding only the declared requirements
	@tests/deps/run.sh $(BUILD) $(CACHE)/deps-venv

.PHONY: galaxy-test
galaxy-test: setup build ## Build the artifact, install it offline, use it from there
	tests/galaxy/run.sh $(COLLECTION) $(DIST) $(DEPS_COLLECTIONS)
	MAKE="$(MAKE)" tests/galaxy/install.sh $(CURDIR)

.PHONY: test
test: ## Everything CI runs; ends with "N passed, N failed"
	@MAKE="$(MAKE)" RESULTS="$(RESULTS)" tests/run-suites.sh setup build -- \
	  lint sanity units deps-test lab integration molecule galaxy-test bench-smoke

# --- Working with the lab -----------------------------------------------------

.PHONY: lab-shell
lab-shell: setup build ## Interactive shell inside the lab
	@[ -x $(LAB_RUN) ] || { echo "no lab yet: $(LAB_RUN) is missing"; exit 1; }
	# --trust: curl, Python and the peers inside trust the lab CA by default.
	$(LAB_RUN) --trust -- env PATH="$$PATH" ANSIBLE_COLLECTIONS_PATH="$$ANSIBLE_COLLECTIONS_PATH" bash

# Your own command or playbook in a fresh lab: the venv first on PATH, the
# collection of this checkout (build/) on ANSIBLE_COLLECTIONS_PATH, the lab CA
# trusted, the lab's facts in /run/mta-sts-lab/facts.json (docs/lab.md).
#   make lab-run CMD="ansible-playbook my.yml"
.PHONY: lab-run
lab-run: setup build ## Run CMD inside a fresh lab, e.g. make lab-run CMD="ansible-playbook my.yml"
	@[ -x $(LAB_RUN) ] || { echo "no lab yet: $(LAB_RUN) is missing"; exit 1; }
	[ -n "$(CMD)" ] || { echo 'usage: make lab-run CMD="ansible-playbook my.yml"'; exit 2; }
	$(LAB_RUN) --trust -- env PATH="$$PATH" ANSIBLE_COLLECTIONS_PATH="$$ANSIBLE_COLLECTIONS_PATH" bash -c '$(subst ','\'',$(CMD))'

.PHONY: demo
demo: setup build ## The main job in the lab: deploy, re-run, add an MX, retire (as root; tests/demo/run.sh)
	@[ -x $(LAB_RUN) ] || { echo "no lab: $(LAB_RUN) is missing"; exit 1; }
	[ -z "$(strip $(missing_packages))" ] || { echo "make demo needs root to install: $(strip $(missing_packages))"; exit 1; }
	mkdir -p $(BUILD)/demo
	echo "Starting the lab (tests/lab/run); logs and the report go to $(BUILD)/demo"
	$(LAB_RUN) -- env PATH="$$PATH" ANSIBLE_COLLECTIONS_PATH="$$ANSIBLE_COLLECTIONS_PATH" \
	  DEMO_DIR=$(BUILD)/demo DEMO_PYTHON=$(VENV_BIN)/python ANSIBLE_FORCE_COLOR=0 tests/demo/run.sh
	echo "The lab has stopped. Report: $(BUILD)/demo/mta-sts-report.html"

# Benchmarks (bench/run.py): their own venv, so matplotlib, py-spy and the
# peer tools never become requirements of the collection or its tests.
BENCH_VENV := $(CACHE)/bench-venv
BENCH_STAMP := $(BENCH_VENV)/.installed-bench-requirements
# e.g. `make bench BENCH_ARGS="--sizes 100 --tools verify,checkdmarc --doc /tmp/b.md"`
BENCH_ARGS ?=

$(BENCH_STAMP): bench/requirements.txt
	@[ -x $(BENCH_VENV)/bin/python ] || $(PYTHON) -m venv $(BENCH_VENV)
	echo "Installing the bench tools into $(BENCH_VENV) (log: $(CACHE)/pip-bench.log)"
	$(BENCH_VENV)/bin/python -m pip install --disable-pip-version-check -r bench/requirements.txt \
	  > $(CACHE)/pip-bench.log 2>&1 || { tail -n 40 $(CACHE)/pip-bench.log; exit 1; }
	touch $@

.PHONY: bench
bench: setup build $(BENCH_STAMP) ## Benchmarks against the peers in the lab; writes docs/benchmarks.md (long)
	@$(lab_packages_or_skip)
	$(BENCH_VENV)/bin/python bench/run.py $(BENCH_ARGS)

# The same driver at N = 5, one repetition: the harness still produces every
# number, the table and the plot. Asserts no time.
.PHONY: bench-smoke
bench-smoke: setup build $(BENCH_STAMP) ## The benchmark driver at N = 5 (part of make test)
	@$(lab_packages_or_skip)
	[ "$$(id -u)" = 0 ] || $(call skip,the bench needs the lab as root)
	$(BENCH_VENV)/bin/python bench/run.py --smoke

.PHONY: clean
clean: ## Remove build output (keeps .venv and .cache; `make distclean` for those)
	rm -rf $(BUILD) tests/output .ansible

.PHONY: distclean
distclean: clean ## Also remove the venv, the caches and the setup stamps
	rm -rf $(VENV) $(CACHE)
