#!/usr/bin/env bash
# Creates scripts/bench/.venv, the pinned Python environment of the jaxsnn
# side of the benchmark (jaxsnn, jax CPU, optax, matplotlib; see
# requirements.txt), also used by scripts/golden/jaxsnn_golden.py.
#
#   bash scripts/bench/setup.sh            (PYTHON=python3.11 to choose the interpreter)
#   scripts/bench/.venv/bin/python scripts/bench/run.py --epochs 1
#
# Idempotent: the venv records the sha256 of requirements.txt it was built
# from (.venv/.requirements.sha256, written last); when that matches, nothing
# is done, otherwise the venv is rebuilt from scratch. A half-built venv has no
# stamp and is rebuilt on the next run. jax 0.4.23 has wheels for Python
# 3.9-3.12 only.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
	echo "bench/setup: $python not found (set PYTHON to a Python 3.9-3.12 interpreter)" >&2
	exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if (3, 9) <= sys.version_info[:2] <= (3, 12) else 1)'; then
	echo "bench/setup: $python is Python $("$python" -c 'import platform; print(platform.python_version())'); jax 0.4.23 needs 3.9-3.12 (set PYTHON)" >&2
	exit 1
fi
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
	echo "bench/setup: $python lacks the venv/ensurepip modules (Debian/Ubuntu: apt-get install python3-venv)" >&2
	exit 1
fi

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -f "$venv/.requirements.sha256" ] && [ "$(cat "$venv/.requirements.sha256")" = "$want" ] &&
	"$venv/bin/python" -c 'import jaxsnn, jax, optax, matplotlib' 2>/dev/null; then
	echo "up to date: $venv"
	exit 0
fi

rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
if ! "$venv/bin/python" -m pip install --quiet --no-deps -r "$req"; then
	echo "bench/setup: pip could not install $req (see the pip error above)" >&2
	exit 1
fi
# --no-deps keeps exactly the pins; pip check says if a pin is missing.
if ! "$venv/bin/python" -m pip check; then
	echo "bench/setup: the pinned set in $req is incomplete or inconsistent" >&2
	exit 1
fi
"$venv/bin/python" -c 'import jaxsnn.event.leaky_integrate_and_fire, jax, optax, matplotlib; print("jax", jax.__version__, jax.devices())' 2>&1 | grep -v '^INFO'
echo "$want" >"$venv/.requirements.sha256.tmp"
mv "$venv/.requirements.sha256.tmp" "$venv/.requirements.sha256"
echo "ready: $venv"
