# Front for CMake/Ninja and the test ground. `make run` = install, build, local cluster, MCP
# client config; `make test` = everything CI runs (scripts/test.sh installs and builds itself).
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

.PHONY: all deps build server install package test unit-test e2e lint format run cluster-up cluster-down bench clean fuzz

all: build

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Only the server binary (what `make run` runs): no unit tests.
server: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target mcp-kubernetes

# Stripped install of the server (and its docs); PREFIX=/usr/local by default, DESTDIR honoured.
PREFIX ?= /usr/local
install: server
	DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR) --strip --prefix $(PREFIX)

# $(BUILD_DIR)/mcp-kubernetes_<version>_<arch>.deb and mcp-kubernetes-<version>-linux-<arch>.tar.gz
# (CPack, stripped). test/package/test.sh installs the .deb into a scratch root and runs it.
package: server
	cd $(BUILD_DIR) && cpack -G "DEB;TGZ"

unit-test: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

test:
	scripts/test.sh

e2e:
	scripts/test.sh --e2e-only

# Every libFuzzer target for FUZZ_SECONDS each (default 600); see fuzz/README.md.
fuzz:
	scripts/fuzz.sh

lint: deps
	scripts/lint.sh

format:
	scripts/lint.sh --fix

run:
	scripts/run.sh

cluster-up:
	test/cluster/up.sh

cluster-down:
	test/cluster/down.sh

bench: build
	bench/run.sh

clean:
	rm -rf $(BUILD_DIR)
