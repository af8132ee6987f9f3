# One-command set-up: `make demo` and `make test` create .venv on first use.
# uv installs the registry's torch/torchvision pair; it ignores pip configuration that may point
# pip at a local torch build that torchvision cannot load.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --isolated --quiet --upgrade uv
	$(VENV)/bin/uv pip install --python $(PY) -e '.[dev,ray]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/saviour demo --out out

test: $(STAMP)
	$(PY) -m pytest tests

bench: $(STAMP)
	$(VENV)/bin/saviour bench

clean:
	rm -rf $(VENV) out
