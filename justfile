# dcmview task runner. `uv run just <recipe>` works without a system `just`.

set shell := ["bash", "-euo", "pipefail", "-c"]

packages := "dcmview-core dcmview-annotations dcmview-server dcmview-tunnel dcmview-py"

# List the recipes.
default:
    @just --list

# The whole test suite (what the README and CI run).
test *args:
    uv run pytest {{args}}

# One package's tests, with only that package and its declared dependencies installed.
test-pkg name *args:
    uv run --exact --package {{name}} python -m pytest packages/{{name}} {{args}}

# Each package alone (proves no package leans on an undeclared sibling). The loop runs uv
# itself: `--exact` strips the dev tools (`just` among them) from the environment as it goes.
test-each *args:
    for p in {{packages}}; do if [ -d packages/$p ]; then uv run --exact --package $p python -m pytest packages/$p {{args}}; fi; done

# Lint, format check and strict type check.
lint:
    uv run ruff check .
    uv run ruff format --check .
    just typecheck

# mypy --strict, one run per package (each package's tests have their own conftest.py),
# then the cross-package tests and the benchmarks.
typecheck:
    for p in packages/*/; do uv run mypy "$p"src "$p"tests; done
    uv run mypy tests benchmarks

# Rewrite formatting and apply safe lint fixes.
fmt:
    uv run ruff format .
    uv run ruff check --fix .

# Open the viewer on the built-in demo study.
demo *args:
    uv run dcmview --demo {{args}}

# Check, unit-test and build the viewer into dcmview-server's package data.
frontend:
    npm --prefix frontend ci --no-audit --no-fund --loglevel=error
    npm --prefix frontend run check
    npm --prefix frontend test
    npm --prefix frontend run build

# Run the benchmarks (pass --quick for the short run).
bench *args:
    uv run python benchmarks/run.py {{args}}
