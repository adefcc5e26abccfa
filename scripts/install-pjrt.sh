#!/usr/bin/env bash
# Installs a PJRT plugin for gosnn's xla backend from its Python wheel on
# PyPI, without GoMLX's auto-installer (whose download sites are not always
# reachable, and whose downloads are not pinned).
#
#   scripts/install-pjrt.sh cpu [DIR]     (DIR defaults to ./pjrt)
#   export PJRT_PLUGIN_LIBRARY_PATH=$PWD/pjrt
#   go run ./cmd/gosnn train yinyang --backend xla:cpu
#
# The wheel version is pinned here and recorded in DIR/<name>.version.
set -euo pipefail

plugin="${1:-cpu}"
dest="${2:-pjrt}"
case "$plugin" in
cpu)
	wheel_spec="xla-cpu-pjrt==0.0.1"
	inner="xla_plugins/xla_cpu_pjrt/xla_cpu_pjrt.so"
	;;
*)
	echo "install-pjrt: unknown plugin '$plugin' (supported: cpu)" >&2
	exit 2
	;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --dest "$tmp" "$wheel_spec"
wheel="$(ls "$tmp"/*.whl)"
python3 - "$wheel" "$inner" "$tmp/plugin.so" <<'PY'
import sys, zipfile
wheel, inner, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, open(out, "wb") as f:
    f.write(z.read(inner))
PY
# A truncated plugin crashes the loader instead of failing cleanly.
if ! grep -q GetPjrtApi "$tmp/plugin.so"; then
	echo "install-pjrt: $inner in $(basename "$wheel") has no GetPjrtApi symbol" >&2
	exit 1
fi
mkdir -p "$dest"
mv "$tmp/plugin.so" "$dest/pjrt_c_api_${plugin}_plugin.so.tmp"
mv "$dest/pjrt_c_api_${plugin}_plugin.so.tmp" "$dest/pjrt_c_api_${plugin}_plugin.so"
echo "$wheel_spec $(sha256sum "$dest/pjrt_c_api_${plugin}_plugin.so" | cut -d' ' -f1)" > "$dest/pjrt_c_api_${plugin}_plugin.version"
echo "installed $dest/pjrt_c_api_${plugin}_plugin.so ($wheel_spec)"
echo "use it with: export PJRT_PLUGIN_LIBRARY_PATH=$(cd "$dest" && pwd)"
