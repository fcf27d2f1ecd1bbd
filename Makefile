# SPDX-License-Identifier: GPL-2.0
#
# dm-clone: out-of-tree device-mapper clone target.
#
#   make                 build ./dm-clone.ko for the running kernel, or for
#                        another: KVER=<version> or KDIR=<kernel build dir>
#   make install         install everything from source (below); KVER=, KDIR=,
#                        PREFIX= (/usr/local), DESTDIR= (a staging root)
#   make install-module  only the module (install-tools, install-scripts: the rest)
#   make tools           build the metadata tools into tools/bin/
#   make check           build for every test kernel, boot them under qemu, run tests
#   make check-long      the same with the long tests (power cuts, stress, fuzzing)
#   make check-debug     the quick tests on a debug kernel (KASAN, lockdep, kmemleak,
#                        UBSAN, KFENCE, ...) built once from linux-source-6.12 into
#                        /var/cache/dm-clone (first run: ~25 min, 1.5 GiB); not in CI
#   make demo            show a clone of a slow golden image working in a VM
#   make bench           benchmarks against dm-linear, a raw copy and the in-kernel dm-clone
#   make deb             Debian packages dm-clone-dkms and dm-clone-tools in build/deb/
#   make check-host      only the host-side tests: tools unit tests, packages, DKMS, install
#   make check-model     check the model of the metadata commit protocol (SPIN;
#                        MODEL_ARGS=--long for the larger configurations)
#   make clean
#
# make install puts, under DESTDIR:
#   /lib/modules/KVER/updates/dm-clone.ko   kbuild's modules_install (compressed if
#                        the kernel's are); updates/ comes first for depmod and
#                        modprobe. INSTALL_MOD_DIR= changes it. Then depmod -a KVER,
#                        but not with DESTDIR: a package runs it where it is installed.
#   SBINDIR (PREFIX/sbin)  the metadata tools, clone-migrate, clone-activate
#   MANDIR (PREFIX/share/man)  their man pages, clonetab(5) and dm-clone(7)
#   INITRAMFSDIR (/usr/share/initramfs-tools)  hooks/ and scripts/local-top/dm-clone
#   UNITDIR (PREFIX/lib/systemd/system)  clone-activate.service, clone-activate-netdev.service,
#                        clone-finish.service, clone-trim.service,
#                        which run SBINDIR/clone-activate
#   GENDIR (PREFIX/lib/systemd/system-generators)  clone-activate-generator: no
#                        time limit on the start job of clonetab's devices
# Without the kernel's headers (KDIR), make says what to install and stops.

PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
override DESTDIR := $(if $(DESTDIR),$(abspath $(DESTDIR)))
INSTALL_MOD_DIR ?= updates
# KDIR alone: the kernel its headers are for (the version in the module's vermagic).
ifeq ($(origin KVER),undefined)
KVER := $(if $(KDIR),$(shell awk -F'"' '/UTS_RELEASE/ { print $$2 }' $(KDIR)/include/generated/utsrelease.h 2>/dev/null),$(shell uname -r))
endif
KDIR ?= /lib/modules/$(KVER)/build
PWD := $(CURDIR)
DEB_DIR ?= $(CURDIR)/build/deb
DIRS := PREFIX=$(PREFIX) SBINDIR=$(SBINDIR) MANDIR=$(MANDIR) DESTDIR=$(DESTDIR)

all: modules

modules: kernel-headers
	$(MAKE) -C $(KDIR) M=$(PWD) modules

# Before kbuild: what is missing and how to get it.
NO_KDIR = $(if $(filter file,$(origin KDIR)),no headers for kernel $(KVER) (no $(KDIR)/Makefile),KDIR=$(KDIR) is not a kernel build directory (it has no Makefile))
HAVE_HEADERS = $(or $(patsubst /lib/modules/%/build/Makefile,%,$(wildcard /lib/modules/*/build/Makefile)),none)
kernel-headers:
	@[ -e $(KDIR)/Makefile ] || { \
	echo "dm-clone: cannot build the module: $(NO_KDIR)."; \
	echo "  Install the headers of the kernel to build for, e.g."; \
	echo "    apt install linux-headers-$(or $(KVER),<version>)    (Debian, Ubuntu)"; \
	echo "    dnf install kernel-devel-$(or $(KVER),<version>)     (RHEL, Fedora)"; \
	echo "  or build for another kernel: make KVER=<version> or make KDIR=<kernel build dir>"; \
	echo "  (kernels with headers here: $(HAVE_HEADERS))"; \
	exit 1; } >&2

install: install-module install-tools install-scripts

# kbuild's modules_install without what distribution headers cannot do: sign
# (they lack the key) and depmod (they lack System.map; depmod runs below,
# for KVER, and only without DESTDIR).
MODINST := INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
	DEPMOD=true cmd_depmod=: quiet_cmd_depmod= \
	$(if $(wildcard $(KDIR)/certs/signing_key.x509),,CONFIG_MODULE_SIG_ALL=)
MODDEST := $(DESTDIR)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)

install-module: modules
	@[ -n "$(KVER)" ] || { echo "dm-clone: which kernel is $(KDIR) for? Give KVER=<version>." >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(PWD) $(MODINST) modules_install
	@ls $(MODDEST)/dm-clone.ko* >/dev/null 2>&1 || { \
		echo "dm-clone: kbuild did not install dm-clone.ko in $(MODDEST): is KDIR=$(KDIR) for kernel $(KVER)?" >&2; exit 1; }
ifeq ($(DESTDIR),)
	depmod -a $(KVER)
else
	@echo "dm-clone: DESTDIR is set: no depmod; run 'depmod -a $(KVER)' where the module is installed."
endif

install-tools:
	$(MAKE) -C tools install $(DIRS)

install-scripts:
	$(MAKE) -C scripts install $(DIRS)

tools:
	$(MAKE) -C tools

clean:
	$(MAKE) -C $(KDIR) M=$(PWD) clean 2>/dev/null || \
		rm -rf *.o *.ko *.mod *.mod.c .*.cmd modules.order Module.symvers .tmp_versions
	$(MAKE) -C tools clean
	rm -rf build

check:
	./tests/check

check-long:
	./tests/check -l

check-debug:
	./tests/check -d -q

demo:
	./tests/demo/run

bench:
	./bench/run

# dpkg-buildpackage -us -uc -b in a copy of the tree (the files git knows,
# or all but build/ and results/), so the .debs land in $(DEB_DIR)/ and the
# tree stays clean.
deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
			tar --null --ignore-failed-read -T - -cf - 2>/dev/null; \
	else \
		tar --exclude=./build --exclude=./results -cf - .; \
	fi | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b
	rm -rf $(DEB_DIR)/src
	@echo "make deb: packages in $(DEB_DIR):"; ls -1 $(DEB_DIR)/*.deb

check-host:
	./tests/check host

check-model:
	./tests/model/run $(MODEL_ARGS)

.PHONY: all modules kernel-headers install install-module install-tools install-scripts tools clean check check-long check-debug demo bench deb check-host check-model
