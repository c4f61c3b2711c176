# netwarden: everything installs from nothing on a fresh Debian 12 machine as root.
#   make demo   install, build the lab, import the example inventory, serve the console
#   make test   install, run every test tier (unit, integration on SQLite+PostgreSQL, lab, web)
#   make lint   ruff + mypy --strict
#   make bench  the benchmarks (each prints a ratio against a peer measured in the same run)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NW := $(VENV)/bin/netwarden
DEMO_DATA ?= demo-data
PYTEST_ARGS ?=

APT_PACKAGES := python3 python3-venv python3-dev build-essential git ca-certificates \
	postgresql redis-server chromium fonts-dejavu-core \
	frr snmpd snmp lldpd openssh-server sshpass nftables iproute2 iputils-ping tcpdump procps psmisc \
	graphviz fping nmap traceroute strongswan-starter strongswan-swanctl libcharon-extra-plugins wireguard-tools wireguard-go \
	dnsmasq nginx-light netcat-openbsd socat curl dnsutils libcap2-bin tshark

.PHONY: help deps system venv fleet-venv test test-fast lint bench demo clean

help:
	@sed -n '1,6p' Makefile

# Debian packages, idempotent: apt-get runs only when something is missing.
system:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "error: run as root to install:$$missing" >&2; exit 1; fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# Debian starts some of these as system services; the lab runs its own per-node copies.
	@for s in frr snmpd lldpd dnsmasq nginx; do systemctl disable --now $$s >/dev/null 2>&1 || true; done

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# The simulated SNMP fleet (netwarden lab fleet) runs snmpsim from its own venv, built from
# Debian's python3 so that the simulator can still read its interpreter after dropping to nobody.
# cryptography gives pysnmp its SNMPv3 privacy ciphers.
FLEET_VENV ?= /opt/netwarden/snmpsim-venv
FLEET_PACKAGES := snmpsim==1.2.2 pysmi cryptography

$(FLEET_VENV)/.installed-snmpsim-1.2.2: | system
	/usr/bin/python3 -m venv $(FLEET_VENV)
	$(FLEET_VENV)/bin/pip install -q $(FLEET_PACKAGES)
	touch $@

fleet-venv: $(FLEET_VENV)/.installed-snmpsim-1.2.2

deps: system venv fleet-venv

test: deps
	@bash scripts/run-tests.sh $(PYTEST_ARGS)

test-fast: venv
	$(VENV)/bin/pytest -q -m "not lab and not web" $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

bench: deps
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

demo: deps
	@bash scripts/demo.sh $(DEMO_DATA)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
