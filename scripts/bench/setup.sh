#!/usr/bin/env bash
# Creates the pinned Python environment of the jaxsnn side of the benchmark:
#
#   bash scripts/bench/setup.sh          scripts/bench/.venv: jaxsnn 0.3.0 and a current
#                                        jax (CPU), requirements.txt (run.py uses it)
#   bash scripts/bench/setup.sh 0.1.0    scripts/bench/.venv-0.1.0: jaxsnn 0.1.0 with
#                                        jax 0.4.23, requirements-0.1.0.txt (for
#                                        scripts/golden/jaxsnn_golden.py)
#
# PYTHON=python3.11 chooses the interpreter. Idempotent: a venv records the
# sha256 of the requirements file it was built from (.requirements.sha256,
# written last); when that matches, nothing is done, otherwise the venv is
# rebuilt from scratch. A half-built venv has no stamp and is rebuilt on the
# next run. Packages are installed with --no-deps (exactly the pins) and
# checked with pip check.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
case "${1:-0.3.0}" in
0.3.0)
	venv="$here/.venv" req="$here/requirements.txt" lo=11 hi=14 check='import jaxsnn.event.topology, jax, optax, matplotlib'
	;;
0.1.0)
	venv="$here/.venv-0.1.0" req="$here/requirements-0.1.0.txt" lo=9 hi=12 check='import jaxsnn.event.leaky_integrate_and_fire, jax, optax, matplotlib'
	;;
*)
	echo "bench/setup: unknown jaxsnn version '$1' (0.3.0 or 0.1.0)" >&2
	exit 2
	;;
esac

if ! command -v "$python" >/dev/null 2>&1; then
	echo "bench/setup: $python not found (set PYTHON to a Python 3.$lo-3.$hi interpreter)" >&2
	exit 1
fi
if ! "$python" -c "import sys; sys.exit(0 if (3, $lo) <= sys.version_info[:2] <= (3, $hi) else 1)"; then
	echo "bench/setup: $python is Python $("$python" -c 'import platform; print(platform.python_version())'); $(basename "$req") needs 3.$lo-3.$hi (set PYTHON)" >&2
	exit 1
fi
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
	echo "bench/setup: $python lacks the venv/ensurepip modules (Debian/Ubuntu: apt-get install python3-venv)" >&2
	exit 1
fi

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -f "$venv/.requirements.sha256" ] && [ "$(cat "$venv/.requirements.sha256")" = "$want" ] &&
	"$venv/bin/python" -c "$check" 2>/dev/null; then
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
"$venv/bin/python" -c "$check; print('jax', jax.__version__, jax.devices())" 2>&1 | grep -v '^INFO\|hxtorch'
echo "$want" >"$venv/.requirements.sha256.tmp"
mv "$venv/.requirements.sha256.tmp" "$venv/.requirements.sha256"
echo "ready: $venv"
