# labkit: DMVPN reference lab kit for Eltex ESR routers.
#   make lab-phase3      install what is missing, generate, start and verify the phase 3 lab (left running)
#   make lab-<scenario>  the same for any topologies/<scenario>.yml (phase1, failover...); report: reports/<lab>/
#   make lab-scale SPOKES=100   the scale design with 100 spokes (SPOKES: any scenario's spoke count; default: the file's)
#   make lab-all         every scenario in turn, each torn down after its report
#   make test            the docs, unit tests, then every real lab and the workshop course, several at once in the microVM
#   make check           the quick loop for a change: ruff, the unit tests and the phase 3 lab (about 3 min, VM warm)
#   make workshop-test   every workshop exercise in a real lab: fails at start, passes with its solution, resets
#   make workshop-bench EXERCISE=06 STUDENTS=3   a class's cost: N students' labs at once (start, memory, CPU, reset)
#   make down            stop every lab this checkout started, and the shared microVM
#   make configs         regenerate the reference ESR configurations in configs/ from topologies/
#   make bench           measure phase 3 cold/warm, node start vs bare daemons, memory per node (TESTS=1: make test)
#   make bench SCALE=10,50,100   the scale design at each spoke count: time and memory per spoke vs the floor
#   make image           build the containerlab node image (docker/node) that <lab>.clab.yml refers to
#   make docs            build the docs site (mkdocs.yml, docs/) into build/site, strictly: any warning fails it
# Variables: RUNTIME=auto|microvm|netns|clab   KEEP=1 (leave the lab running) | KEEP=0 (tear it down)
#            SPOKES=N (lab-<scenario>: spokes.count)   SCALE=N,N,... (bench: the scale series)
#            LANES=N (make test, workshop-test: lab tests at once; default 3)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LABKIT := $(BIN)/labkit
RUNTIME ?= auto
KEEP ?= 1
TOPOLOGIES := $(sort $(wildcard topologies/*.yml))
SCENARIOS := $(patsubst topologies/%.yml,%,$(TOPOLOGIES))

# Debian packages the lab needs: the microVM (QEMU, Debian's kernel, busybox for its initramfs), the
# routers' stand-ins (FRR, strongSwan with its standard plugins: openssl for ECP DH groups, gcm) and the
# tools the checks use; keepalived for the hub cluster's VRRP; ssh for scrapli towards real routers.
DEBIAN_PACKAGES := qemu-system-x86 linux-image-amd64 busybox-static frr strongswan-swanctl \
	strongswan-charon libstrongswan-standard-plugins iptables iproute2 kmod tcpdump iputils-ping \
	traceroute procps keepalived openssh-client python3-venv

.PHONY: deps debian-packages lab-all down generate configs image test check unit lint clean bench bench-together \
	workshop-test workshop-bench docs

# containerlab brings its own nodes (the image): only the embedded runtimes need the Debian packages
deps: $(if $(filter clab,$(RUNTIME)),,debian-packages) $(VENV)/.installed

debian-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		[ "$$(id -u)" = 0 ] || { echo "error: installing packages needs root (run make as root)"; exit 1; }; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			$$missing >/tmp/labkit-apt.log 2>&1 || { tail -20 /tmp/labkit-apt.log; exit 1; }; \
	fi

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

lab-%: deps
	@test -f topologies/$*.yml || { echo "error: no topologies/$*.yml; scenarios: $(SCENARIOS)"; exit 2; }
	$(LABKIT) run topologies/$*.yml --runtime $(RUNTIME) $(if $(filter 0,$(KEEP)),--no-keep,--keep) \
		$(if $(SPOKES),--set spokes.count=$(SPOKES))

# every scenario, one after the other (one lab at a time keeps memory low); a summary at the end
lab-all: deps
	@failed=""; for s in $(SCENARIOS); do \
		start=$$(date +%s); \
		$(LABKIT) run topologies/$$s.yml --runtime $(RUNTIME) --no-keep || failed="$$failed $$s"; \
		echo "== $$s: $$(( $$(date +%s) - start )) s"; \
	done; \
	if [ -n "$$failed" ]; then echo "lab-all: failed:$$failed"; exit 1; fi; echo "lab-all: every scenario passed"

generate: deps
	@for t in $(TOPOLOGIES); do $(LABKIT) -q generate $$t; done

# the reference ESR configurations, configs/<lab>/<device>.cfg (one folder per design, named by its `lab:`; a
# cluster's units share one, hub1+hub2.cfg)
configs: $(VENV)/.installed
	$(LABKIT) configs $(TOPOLOGIES)

# every lab of this checkout, then the shared microVM: nothing is left running
down: deps
	@for t in $(TOPOLOGIES); do $(LABKIT) down $$t; done
	@$(LABKIT) vm stop

# the containerlab node image, tagged as every generated <lab>.clab.yml refers to it
image: deps
	@command -v docker >/dev/null || { echo "error: \`make image\` needs the docker CLI and a Docker engine"; exit 2; }
	docker build -t "$$($(BIN)/python -c 'from labkit.render.clab import NODE_IMAGE; print(NODE_IMAGE)')" docker/node

# lab tests run LANES at once in the shared microVM, each lane a group of tests of about equal length (tests/lanes.py);
# most of a lab's time is spent waiting on protocol timers, and the machine-wide scheduler keeps CPU-heavy steps out
# of measured windows (labkit/runtime/scheduler.py); at the end a table says where each test's time went
LANES ?= 3
LAB_TESTS = $(BIN)/pytest -q -n $(LANES) --dist loadgroup --durations=0 --durations-min=60

# the docs site, strictly (a broken link or a page missing from the nav fails it); the Material theme's notice of
# its successor is not a warning of this site
MKDOCS = NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

docs: $(VENV)/.installed
	$(MKDOCS)

# the docs, the unit tests, the lanes, then the tests that boot a VM of their own, alone; one table of where the
# lab tests' time went covers both
test: deps
	$(MKDOCS)
	$(BIN)/pytest -q -m "not lab" -n 2
	@since=$$(date +%s); \
	LABKIT_TABLE_SINCE=$$since $(LAB_TESTS) -m "lab and not solo"; lanes=$$?; \
	LABKIT_TABLE_SINCE=$$since $(BIN)/pytest -q -m "lab and solo"; solo=$$?; \
	exit $$(( lanes || solo ))

check: deps
	$(BIN)/ruff check labkit tests
	$(BIN)/pytest -q -m "not lab" -n 2
	$(BIN)/pytest -q tests/integration/test_phase3_lab.py

workshop-test: deps
	$(LAB_TESTS) -m workshop

workshop-bench: deps
	$(LABKIT) workshop bench $(or $(EXERCISE),06) --students $(or $(STUDENTS),3)

# phase 3 cold and warm, node start against bare daemons, memory per node; TESTS=1 times `make test` too;
# SCALE=10,50,100: the scale design at each spoke count instead (build/bench/bench-scale.json)
bench: deps
	$(LABKIT) bench $(if $(SCALE),topologies/scale.yml --scale $(SCALE),topologies/phase3.yml \
		$(if $(filter 1,$(TESTS)),--tests,))

# the measured cases of failover, cluster and edge alone (REPEAT=N runs each, 1 by default), against the same cases in
# the last `make test` (run beside other labs): a case worse together than its worst alone run by more than the
# scheduler's slack is a defect (build/bench/together-<lab>.json)
bench-together: deps
	@for s in failover cluster edge; do $(LABKIT) bench topologies/$$s.yml --together reports/make-test-times.json \
		--repeat $(or $(REPEAT),1) || exit 1; done

unit: deps
	$(BIN)/pytest -q -m "not lab"

lint: deps
	$(BIN)/ruff check labkit tests

clean: down
	rm -rf build reports
