# make test     set up (Debian packages, .venv, release build), then run every test
# make demo     set up, then run the demo
# make build    the release binary only (.build/release/fairtune), without setup
# make install  build, then install fairtune and fairtune-prep into PREFIX (PREFIX/bin on PATH)
# FAIRTUNE_MPI_PC and FAIRTUNE_HDF5_PC choose the MPI and HDF5 pkg-config names (docs/cluster.md).
PREFIX ?= /usr/local
.PHONY: setup test demo build install
setup:
	bash scripts/setup.sh
build:
	swift build -c release --product fairtune
test: setup
	bash scripts/test.sh
demo: setup
	bash scripts/demo.sh
install: build
	bash scripts/install.sh "$(PREFIX)"
