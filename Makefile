# make test   set up (Debian packages, .venv, release build), then run every test
# make demo   set up, then run the demo
.PHONY: setup test demo build
setup:
	bash scripts/setup.sh
build:
	swift build -c release
test: setup
	bash scripts/test.sh
demo: setup
	bash scripts/demo.sh
