# SPDX-License-Identifier: GPL-2.0
# ipitrace: BPF objects -> bpftool skeletons -> ipitrace.
#   make          build ipitrace (and test tools)
#   make run      install missing packages, build, trace IPIs for 10 s
#   make check    install missing packages, build, run every test
#   make bench    overhead benchmark (results/overhead.md), bench-agg, storm
#   make bench-agg  aggregation memory/time at 64/256/1,024 CPUs, before/after
#   make storm    an IPI storm traced for 60 s: rates and every loss
#   make vmlinux  regenerate vmlinux/$(ARCH)/vmlinux.h from this kernel's BTF

ARCH      ?= x86
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= cc
BUILD     := build
OUTPUT    := ipitrace

CFLAGS    ?= -O2 -g
SRC_DIRS  := src/common src/guest src/host src/report src/bench src/record src/join
CFLAGS    += -Wall -Wextra -std=gnu11 -Iinclude -I$(BUILD) \
	     $(addprefix -I,$(SRC_DIRS))
LIBBPF_LIBS := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz)
LDLIBS    += $(LIBBPF_LIBS) -lm -lpthread
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	      -Ivmlinux/$(ARCH) -Iinclude -Ibpf -Wall -Wno-unused-function

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
LIB_SRCS  := $(wildcard $(addsuffix /*.c,$(SRC_DIRS)))
LIB_OBJS  := $(patsubst src/%.c,$(BUILD)/%.o,$(LIB_SRCS))
HDRS      := $(wildcard include/*.h src/*.h $(addsuffix /*.h,$(SRC_DIRS)))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TOOL_SRCS := $(wildcard tests/workload/*.c)
TOOL_BINS := $(patsubst tests/workload/%.c,$(BUILD)/%,$(TOOL_SRCS))

# Debian packages the build and the tests need; `make deps` installs the
# missing ones (apt-get update once, then apt-get install).
DEPS_PKGS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config \
	     libcmocka-dev python3 bpftrace linux-perf prometheus man-db systemd util-linux
DEPS_PKGS += $(EXTRA_DEPS_PKGS)
DEPS_PKGS += qemu-system-x86 busybox-static xz-utils zstd cpio

.PHONY: all deps run check unit integration clean vmlinux tools bench static bench-agg storm
all: $(SKELS) $(OUTPUT) tools

# skeletons and BPF objects are wanted outputs, not intermediates
.SECONDARY: $(BPF_OBJS) $(SKELS)

tools: $(TOOL_BINS)

deps:
	@missing=""; for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "deps: need root to install:$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

$(BUILD) $(BUILD)/tests:
	@mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard include/*.h) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/%.o: src/%.c $(HDRS) $(SKELS) | $(BUILD)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libipitrace.a: $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(OUTPUT): $(BUILD)/main.o $(BUILD)/libipitrace.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libipitrace.a $(HDRS) $(wildcard tests/unit/*.h) | $(BUILD)/tests
	$(CC) $(CFLAGS) $< $(BUILD)/libipitrace.a $(LDLIBS) -lcmocka -o $@

$(BUILD)/%: tests/workload/%.c $(BUILD)/libipitrace.a $(HDRS) | $(BUILD)
	$(CC) $(CFLAGS) $< $(BUILD)/libipitrace.a $(LDLIBS) -o $@

unit: $(UNIT_BINS)

# Statically linked binaries for the QEMU guests' busybox initramfs.
STATIC_LIBS := $(shell pkg-config --static --libs libbpf 2>/dev/null || echo -lbpf -lelf -lz) -lm -lpthread
static: $(BUILD)/ipitrace-static $(BUILD)/ipiload-static $(BUILD)/ipivm-static

$(BUILD)/ipitrace-static: $(BUILD)/main.o $(BUILD)/libipitrace.a
	$(CC) -static $(CFLAGS) $^ $(STATIC_LIBS) -o $@

$(BUILD)/ipiload-static: tests/workload/ipiload.c $(BUILD)/libipitrace.a
	$(CC) -static $(CFLAGS) $^ $(STATIC_LIBS) -o $@

$(BUILD)/ipivm-static: tests/workload/ipivm.c
	$(CC) -static $(CFLAGS) $^ -lpthread -o $@

run: deps
	@$(MAKE) --no-print-directory all
	@$(BUILD)/ipiload --duration 10 >/dev/null & \
	./$(OUTPUT) --guest -d 10; rc=$$?; wait; exit $$rc

check: deps
	@$(MAKE) --no-print-directory all unit static
	@tests/run-tests.sh

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

clean:
	rm -rf $(BUILD) $(OUTPUT)

# Installed like any C tool: PREFIX and DESTDIR honoured.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DATADIR    ?= $(PREFIX)/share/ipitrace
MAN8DIR    ?= $(PREFIX)/share/man/man8
INSTALLED  := $(SBINDIR)/ipitrace $(UNITDIR)/ipitrace.service \
	      $(DATADIR)/ipitrace-rules.yml $(MAN8DIR)/ipitrace.8

.PHONY: install uninstall
install: $(OUTPUT)
	install -D -m 0755 $(OUTPUT) $(DESTDIR)$(SBINDIR)/ipitrace
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/ipitrace.service.in > $(DESTDIR)$(UNITDIR)/ipitrace.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/ipitrace.service
	install -D -m 0644 dist/ipitrace-rules.yml $(DESTDIR)$(DATADIR)/ipitrace-rules.yml
	install -D -m 0644 dist/ipitrace.8 $(DESTDIR)$(MAN8DIR)/ipitrace.8

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(DATADIR) 2>/dev/null

# QEMU TCG guests (bookworm 6.1, bookworm-backports 6.12; 4 vCPUs, 2 NUMA
# nodes): kernels are cached in $(or $(IPT_QEMU_CACHE),/var/cache/ipitrace-qemu)
.PHONY: qemu-check host-lab
qemu-check: deps static
	@tests/qemu/test-qemu.sh

# the host lab: ipitrace --host on a real KVM (AMD SVM emulated by TCG) in
# both kernels, checked against the VM's own counts and ftrace
host-lab: deps static
	@tests/qemu/test-host-lab.sh

# one IPI end to end: a real L2 guest in the host lab, the records joined
.PHONY: check-e2e fuzz-record
check-e2e: deps static
	@tests/qemu/test-e2e.sh -k "$(or $(IPT_E2E_KERNELS),6.12 6.1)"

# libFuzzer over the record reader (clang); FUZZ_SECONDS, default 60
FUZZ_SECONDS ?= 60
fuzz-record: $(BUILD)/libipitrace.a
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(filter -I%,$(CFLAGS)) \
		tests/fuzz/fuzz_record.c src/record/rec_read.c src/record/rec_read_host.c src/record/rec_write.c \
		$(BUILD)/libipitrace.a $(LDLIBS) -o $(BUILD)/fuzz_record
	@mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/fuzz_record -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		$(BUILD)/fuzz-corpus tests/fixtures/records

# Overhead benchmark: ipitrace vs no tracer, bpftrace, perf and an empty-
# program floor; prints figures (results/overhead.{md,json}), never gates on timing.
# Issue 10's "before": commit $(PERF_BASE), built from git beside this tree.
PERF_BASE := 01c1692
$(BUILD)/before/ipitrace:
	@rm -rf $(BUILD)/before && mkdir -p $(BUILD)/before
	git archive $(PERF_BASE) | tar -x -C $(BUILD)/before
	$(MAKE) --no-print-directory -C $(BUILD)/before ipitrace

bench: deps
	@$(MAKE) --no-print-directory all
	@mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
	@if $(MAKE) --no-print-directory $(BUILD)/before/ipitrace; then \
		python3 tests/bench/overhead.py --before $(BUILD)/before/ipitrace; \
	else \
		echo "bench: no git history of $(PERF_BASE): no before rows"; \
		python3 tests/bench/overhead.py; \
	fi
	@$(MAKE) --no-print-directory bench-agg storm

# An IPI storm traced for 60 s, per-event and --aggregate: rates, every loss
storm: all
	@python3 tests/integration/storm.py --seconds 60

# Aggregation at 64/256/1,024 CPUs (tests/bench/aggbench.c): this tree's
# sparse pairs beside the dense arrays of commit $(DENSE_BASE), from git
DENSE_BASE := 0906bc6
$(BUILD)/dense/%:
	@mkdir -p $(@D)
	git show $(DENSE_BASE):src/guest/$* > $@

$(BUILD)/aggbench: tests/bench/aggbench.c $(BUILD)/libipitrace.a
	$(CC) $(CFLAGS) $< $(BUILD)/libipitrace.a $(LDLIBS) -o $@

$(BUILD)/aggbench-dense: tests/bench/aggbench.c $(addprefix $(BUILD)/dense/,agg.c agg.h kagg.c kagg.h) $(BUILD)/libipitrace.a
	$(CC) -DDENSE -I$(BUILD)/dense $(CFLAGS) $< $(BUILD)/dense/agg.c $(BUILD)/dense/kagg.c $(BUILD)/libipitrace.a $(LDLIBS) -o $@

bench-agg: $(BUILD)/aggbench
	@$(MAKE) --no-print-directory $(BUILD)/aggbench-dense || echo "bench-agg: no git history of $(DENSE_BASE): the dense code's figures are not measured"
	@python3 tests/bench/aggbench.py $(BUILD)/aggbench-dense $(BUILD)/aggbench
