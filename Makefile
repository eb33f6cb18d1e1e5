# Makefile - certa's front door. Thin on purpose: Meson builds, the scripts
# in scripts/ install packages and run suites; this file only names the steps.
#   make run    install what is missing, build a release, run certad on ./state
#   make test   build with ASan/UBSan, run unit + integration suites, print
#               one "N passed, N failed" line
#   make fuzz   run every fuzz target for 60 s from its seed corpus
#   make clean  remove the builds made here (./state, the CA and its accounts,
#               is kept; other build/ folders of your own are left alone)

SHELL := /bin/bash
RELEASE := build/release
TESTDIR := build/test

.PHONY: all build run test fuzz clean

all: build

build:
	@scripts/deps.sh run
	@scripts/setup-build.sh $(RELEASE) --buildtype=release -Dtests=false
	@ninja -C $(RELEASE)

run: build
	exec $(RELEASE)/src/cli/certad --state ./state

test:
	@scripts/deps.sh test
	@scripts/test.sh $(TESTDIR)

fuzz:
	@scripts/fuzz.sh

clean:
	rm -rf $(RELEASE) $(TESTDIR) build/fuzz
