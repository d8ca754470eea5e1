# sbx build, demo, tests and benchmarks. See README.md and BUILD.md.
GO ?= go
BIN := bin
SBX := $(BIN)/sbx
GOFLAGS_BUILD := -trimpath
export CGO_ENABLED ?= 0

.PHONY: all build demo test unit conformance e2e bench deps clean vet stress fuzz

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS_BUILD) -o $(SBX) ./runsc/cmd/sbx
	ln -sf sbx $(BIN)/runsc

# deps installs what the demo and the tests need on a Debian machine, as root,
# only when it is missing.
deps:
	@missing=""; \
	command -v gcc >/dev/null || missing="$$missing gcc libc6-dev"; \
	[ -x /bin/busybox ] || missing="$$missing busybox-static"; \
	[ -f /usr/include/seccomp.h ] || missing="$$missing libseccomp-dev"; \
	command -v strace >/dev/null || missing="$$missing strace"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "run as root (apt-get install$$missing)"; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

demo: deps build
	@echo '$$ bin/sbx run /bin/busybox echo hello from the sandbox'
	@$(SBX) run /bin/busybox echo hello from the sandbox
	@echo '$$ echo abc | bin/sbx run /bin/busybox sha256sum'
	@echo abc | $(SBX) run /bin/busybox sha256sum
	@echo '$$ bin/sbx run --strace /bin/busybox uname -a'
	@$(SBX) run --strace /bin/busybox uname -a

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt needed"; exit 1; }

# test: unit tests (with the race detector where goroutines meet), the C
# conformance suite natively and under each platform, e2e programs, and the
# security suite (escape attempts).
# The race detector needs cgo, whose C library registers an rseq area per
# thread; a stub process, which unmaps everything, would then be killed by
# the kernel's next rseq update: the tunable keeps glibc from registering.
test: deps build vet
	$(GO) test -count=1 ./platform/... ./sentry/... ./fs/... ./gofer/... ./syscalls/... ./runsc/...
	GLIBC_TUNABLES=glibc.pthread.rseq=0 CGO_ENABLED=1 $(GO) test -count=1 -race ./platform/... ./sentry/kernel/... ./sentry/memfile/... ./sentry/mm/... ./fs/... ./gofer/...
	SBX=$(CURDIR)/$(SBX) $(GO) test -count=1 -timeout 25m ./test/...

# stress: test/stress's random-syscall program, natively (safe mode) and then
# for STRESS_SECONDS (default 300) on each platform, one after the other.
# make test runs the same test for 20 s per platform.
STRESS_SECONDS ?= 300
stress: deps build
	STRESS_SECONDS=$(STRESS_SECONDS) SBX=$(CURDIR)/$(SBX) $(GO) test -count=1 -v -timeout 0 -run TestStress ./test/stress/

# fuzz: the fuzz targets, FUZZTIME each (go test -fuzz takes one at a time).
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run XXX -fuzz=FuzzStraceFormat -fuzztime=$(FUZZTIME) ./syscalls/
	$(GO) test -run XXX -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./gofer/proto/

bench: deps build
	$(GO) run ./test/bench -sbx $(SBX)

clean:
	rm -rf $(BIN)
