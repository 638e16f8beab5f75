# labkit: DMVPN reference lab kit for Eltex ESR routers.
#   make lab-phase3      install what is missing, generate, start and verify the phase 3 lab (left running)
#   make test            unit tests and the real phase 3 lab in the embedded runtime
#   make down            stop every lab this checkout started
# Variables: RUNTIME=auto|microvm|netns|clab   KEEP=1 (leave the lab running) | KEEP=0 (tear it down)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LABKIT := $(BIN)/labkit
RUNTIME ?= auto
KEEP ?= 1
TOPOLOGIES := $(sort $(wildcard topologies/*.yml))

# Debian packages the lab needs: the microVM (QEMU, Debian's kernel, busybox for its initramfs), the
# routers' stand-ins (FRR, strongSwan with its standard plugins: openssl for ECP DH groups, gcm) and the
# tools the checks use. Installed with their recommends, as verified.
DEBIAN_PACKAGES := qemu-system-x86 linux-image-amd64 busybox-static frr strongswan-swanctl \
	strongswan-charon libstrongswan-standard-plugins iptables iproute2 kmod tcpdump iputils-ping \
	traceroute procps python3-venv

.PHONY: deps debian-packages lab-phase3 down generate test unit lint clean

deps: debian-packages $(VENV)/.installed

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

lab-phase3: deps
	$(LABKIT) run topologies/phase3.yml --runtime $(RUNTIME) $(if $(filter 0,$(KEEP)),--no-keep,--keep)

generate: deps
	@for t in $(TOPOLOGIES); do $(LABKIT) -q generate $$t; done

down: deps
	@for t in $(TOPOLOGIES); do $(LABKIT) down $$t; done

test: deps
	$(BIN)/pytest -q

unit: deps
	$(BIN)/pytest -q -m "not lab"

lint: deps
	$(BIN)/ruff check labkit tests

clean: down
	rm -rf build reports
