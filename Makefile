# SPDX-License-Identifier: GPL-2.0
#
# dm-clone: out-of-tree device-mapper clone target.
#
#   make                 build ./dm-clone.ko for the running kernel (or KDIR=...)
#   make install         install the module (and depmod) and the metadata tools
#   make tools           build the metadata tools into tools/bin/
#   make check           build for every test kernel, boot them under qemu, run tests
#   make check-long      the same with the long tests (power cuts, stress, fuzzing)
#   make demo            show a clone of a slow golden image working in a VM
#   make bench           benchmarks against dm-linear, a raw copy and the in-kernel dm-clone
#   make deb             Debian packages dm-clone-dkms and dm-clone-tools in build/deb/
#   make check-host      only the host-side tests: tools unit tests, packages, DKMS
#   make check-model     check the model of the metadata commit protocol (SPIN;
#                        MODEL_ARGS=--long for the larger configurations)
#   make clean

PREFIX ?= /usr/local
KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
PWD := $(CURDIR)
DEB_DIR ?= $(CURDIR)/build/deb

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(PWD) modules

install: modules tools
	$(MAKE) -C $(KDIR) M=$(PWD) modules_install
	depmod -a $(KVER)
	$(MAKE) -C tools install PREFIX=$(PREFIX)
	$(MAKE) -C scripts install PREFIX=$(PREFIX)

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

.PHONY: all modules install tools clean check check-long demo bench deb check-host check-model
