#!/usr/bin/env bash
# The project's test command: build the binary, run the Rust tests, then drive the real
# binary with the official `mlflow` Python client (tests/python).
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -k artifacts -x # extra arguments go to pytest
#
# Environment:
#   CARGO_TARGET_DIR   where cargo builds (default <repo>/target); the suite tests the debug
#                      binary found there.
#   JUDGEFLOW_VENV     the Python venv for the suite (default <repo>/.venv). It is created when
#                      missing and re-synced whenever tests/python/requirements.txt changes.
#   PYTHON             the interpreter that creates the venv (default python3).
#   JUDGEFLOW_SKIP_RUST_TESTS=1   build, but skip the Rust tests (quick suite iterations).
#   JUDGEFLOW_PYTHON   set by this script to the venv's python, for the scorer parity test.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

venv="${JUDGEFLOW_VENV:-$repo/.venv}"
python="${PYTHON:-python3}"
requirements="$repo/tests/python/requirements.txt"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
case "$target_dir" in
  /*) ;;
  *) target_dir="$repo/$target_dir" ;; # cargo resolves it against the working directory
esac

step() { printf '\n==> %s\n' "$*" >&2; }

# --- Python venv ----------------------------------------------------------------------------
# The stamp records what the venv was built from: the requirements and the interpreter. Any
# change re-runs pip, so a fresh clone and an edited requirements file both just work.
stamp="$venv/.judgeflow-requirements.sha256"
wanted="$({ cat "$requirements"; "$python" --version 2>&1; } | sha256sum | cut -d' ' -f1)"

if ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
  if [[ -e "$venv" && ! -f "$venv/pyvenv.cfg" ]]; then
    echo "error: $venv exists but is not a Python venv; set JUDGEFLOW_VENV elsewhere" >&2
    exit 2
  fi
  step "creating Python venv at $venv"
  # --clear: a venv whose interpreter disappeared (e.g. a Python upgrade) is rebuilt.
  "$python" -m venv --clear "$venv"
  rm -f "$stamp"
fi
if [[ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
  step "installing tests/python/requirements.txt into $venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
  echo "$wanted" >"$stamp"
fi

# --- Rust -----------------------------------------------------------------------------------
step "cargo build -p judgeflow-cli"
cargo build -p judgeflow-cli

failed=()

# The scorer parity test (crates/judgeflow-scorers) runs the Python reference packages
# (rouge-score, sacrebleu) from this venv; without it the test fails rather than skips.
export JUDGEFLOW_PYTHON="$venv/bin/python"

if [[ "${JUDGEFLOW_SKIP_RUST_TESTS:-0}" != 1 ]]; then
  if cargo nextest --version >/dev/null 2>&1; then
    step "cargo nextest run --workspace"
    # --no-tests=warn: a workspace without tests yet is not a failure.
    cargo nextest run --workspace --no-tests=warn || failed+=("cargo nextest")
    # nextest does not run doc tests.
    step "cargo test --workspace --doc"
    cargo test --workspace --doc || failed+=("cargo doc tests")
  else
    step "cargo test --workspace (cargo-nextest not installed)"
    cargo test --workspace || failed+=("cargo test")
  fi
fi

# --- MLflow client compatibility ------------------------------------------------------------
step "pytest tests/python (mlflow client against the judgeflow binary)"
export JUDGEFLOW_BIN="${JUDGEFLOW_BIN:-$target_dir/debug/judgeflow}"
"$venv/bin/python" -m pytest -q tests/python "$@" || failed+=("pytest tests/python")

if ((${#failed[@]})); then
  printf '\nFAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi
printf '\nAll tests passed.\n' >&2
