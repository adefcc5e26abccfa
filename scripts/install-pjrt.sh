#!/usr/bin/env bash
# Installs a PJRT plugin for gosnn's xla backend from its Python wheel on
# PyPI, without GoMLX's auto-installer (whose download sites are not always
# reachable, and whose downloads are not pinned).
#
#   scripts/install-pjrt.sh cpu [DIR]     (DIR defaults to ./pjrt)
#   export PJRT_PLUGIN_LIBRARY_PATH=$PWD/pjrt
#   go run ./cmd/gosnn train yinyang --backend xla:cpu
#
#   scripts/install-pjrt.sh cuda12 [DIR] [--with-nvidia]   (CUDA 12 driver)
#   scripts/install-pjrt.sh cuda13 [DIR] [--with-nvidia]   (CUDA 13 driver)
#   ... [--wheels WHEELDIR]   keep the downloaded wheels in WHEELDIR and use
#       the ones already there without asking PyPI (a second machine or run
#       installs offline from a copied WHEELDIR)
#
#   scripts/install-pjrt.sh cuda13 [DIR] --from-python [PYTHON]
#       no download: copies the CUDA plugin of a Python environment that
#       has jax's (pip install "jax[cuda13]"; PYTHON defaults to python3)
#       and writes DIR/nvidia-cuda13.env for the NVIDIA libraries of that
#       environment's site-packages/nvidia (for machines without PyPI that
#       come with CUDA jax). The version file records jax-cuda13-pjrt==<its
#       version>.
#   export PJRT_PLUGIN_LIBRARY_PATH=$PWD/pjrt
#   source pjrt/nvidia-cuda12.env       (only with --with-nvidia, see below)
#   go run ./cmd/gosnn train yinyang --backend xla:cuda
#
# The wheel version is pinned here and recorded in DIR/<name>.version
# ("<pip spec> <sha256 of the installed .so>"); a second run with the same
# pin and an intact plugin changes nothing. Files are written under a
# temporary name and renamed into place.
#
# cpu:    wheel xla-cpu-pjrt, file xla_plugins/xla_cpu_pjrt/xla_cpu_pjrt.so,
#         installed as DIR/pjrt_c_api_cpu_plugin.so (GoMLX: xla:cpu).
# cuda12: wheel jax-cuda12-pjrt, file jax_plugins/xla_cuda12/xla_cuda_plugin.so
# cuda13: wheel jax-cuda13-pjrt, file jax_plugins/xla_cuda13/xla_cuda_plugin.so
#         both installed as DIR/pjrt_c_api_cuda_plugin.so (GoMLX: xla:cuda),
#         so one DIR holds one of the two at a time. Pinned to jax 0.8.1
#         (2025-11-18), the jax release nearest to the PJRT C API 0.83 that
#         GoMLX v0.26 / go-xla v0.1.4 is built against (PJRT keeps older
#         clients working through struct sizes).
#
# The CUDA plugin only loads the driver's libcuda.so.1 by itself; at run time
# (when compiling/executing) it dlopens NVIDIA's runtime libraries, which jax
# gets from the "with-cuda" extra of jax-cuda12-plugin / jax-cuda13-plugin:
#   cuda12: nvidia-cublas-cu12 (libcublas, libcublasLt), nvidia-cuda-runtime-cu12
#     (libcudart), nvidia-cudnn-cu12 >=9.8,<10 (libcudnn), nvidia-cufft-cu12,
#     nvidia-cusolver-cu12, nvidia-cusparse-cu12, nvidia-nccl-cu12,
#     nvidia-nvjitlink-cu12, nvidia-cuda-nvrtc-cu12, nvidia-cuda-cupti-cu12,
#     nvidia-nvshmem-cu12, nvidia-cuda-nvcc-cu12 (ptxas, libdevice).
#   cuda13: nvidia-cublas, nvidia-cuda-runtime, nvidia-cudnn-cu13 >=9.12,<10,
#     nvidia-cufft, nvidia-cusolver, nvidia-cusparse, nvidia-nccl-cu13,
#     nvidia-nvjitlink, nvidia-cuda-nvrtc, nvidia-cuda-cupti,
#     nvidia-nvshmem-cu13, nvidia-cuda-nvcc, nvidia-nvvm (most under nvidia/cu13/).
# The plugin's RPATH looks for them in $ORIGIN/../nvidia/<pkg>/lib and
# $ORIGIN/../../nvidia/<pkg>/lib (the layout of a Python site-packages);
# anything else must come through LD_LIBRARY_PATH. With --with-nvidia this
# script pip-installs exactly those wheels (the version bounds of
# jax-cudaNN-plugin==<pin>[with-cuda]; several GB) into DIR/nvidia-cudaNN and
# writes DIR/nvidia-cudaNN.env, which sets LD_LIBRARY_PATH to their lib
# folders and XLA_FLAGS=--xla_gpu_cuda_data_dir=<their nvcc folder> (ptxas,
# libdevice). Setting that flag yourself also matters because go-xla v0.1.4
# otherwise overrides XLA_FLAGS with a hard-coded data dir whenever a folder
# "nvidia" sits next to DIR. A system CUDA installation (or a jax[cuda12]
# virtual environment's site-packages/nvidia, on LD_LIBRARY_PATH) works too.
set -euo pipefail

with_nvidia=0
wheels=""
from_python=""
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--with-nvidia) with_nvidia=1 ;;
	--wheels)
		if [ $# -lt 2 ]; then
			echo "install-pjrt: --wheels needs a folder" >&2
			exit 2
		fi
		wheels="$2"
		shift
		;;
	--wheels=*) wheels="${1#--wheels=}" ;;
	--from-python)
		from_python=python3
		if [ $# -ge 2 ] && [[ "$2" != -* ]] && ! [[ "$2" =~ ^(cpu|cuda12|cuda13)$ ]] && command -v "$2" >/dev/null 2>&1; then
			from_python="$2"
			shift
		fi
		;;
	*) args+=("$1") ;;
	esac
	shift
done
set -- "${args[@]+"${args[@]}"}"

plugin="${1:-cpu}"
dest="${2:-pjrt}"
case "$plugin" in
cpu)
	wheel_spec="xla-cpu-pjrt==0.0.1"
	inner="xla_plugins/xla_cpu_pjrt/xla_cpu_pjrt.so"
	name="cpu"
	;;
cuda12 | cuda13)
	jax_version="0.8.1"
	wheel_spec="jax-${plugin}-pjrt==${jax_version}"
	inner="jax_plugins/xla_${plugin}/xla_cuda_plugin.so"
	name="cuda"
	;;
*)
	echo "install-pjrt: unknown plugin '$plugin' (supported: cpu, cuda12, cuda13)" >&2
	exit 2
	;;
esac
if [ "$with_nvidia" = 1 ] && [ "$name" != cuda ]; then
	echo "install-pjrt: --with-nvidia only applies to cuda12 and cuda13" >&2
	exit 2
fi
if [ -n "$from_python" ]; then
	if [ "$name" != cuda ] || [ "$with_nvidia" = 1 ] || [ -n "$wheels" ]; then
		echo "install-pjrt: --from-python applies to cuda12 and cuda13, without --with-nvidia and --wheels" >&2
		exit 2
	fi
	# Where the Python environment keeps jax's plugin, NVIDIA's libraries and
	# ptxas (site-packages/nvidia/<pkg>/lib, nvidia/cu13 for CUDA 13).
	if ! found="$("$from_python" - "$plugin" <<'PY'
import glob, importlib.metadata, importlib.util, os, shutil, sys
variant = sys.argv[1]
try:
    spec = importlib.util.find_spec(f"jax_plugins.xla_{variant}")
except ImportError:
    spec = None
if spec is None or not spec.submodule_search_locations:
    sys.exit(f"no module jax_plugins.xla_{variant}: pip install 'jax[{variant}]' in this environment")
pdir = list(spec.submodule_search_locations)[0]
so = os.path.join(pdir, "xla_cuda_plugin.so")
if not os.path.isfile(so):
    sys.exit(f"{so} does not exist")
version = importlib.metadata.version(f"jax-{variant}-pjrt")
site = os.path.dirname(os.path.dirname(pdir))
libs = sorted(d for d in glob.glob(os.path.join(site, "nvidia", "*", "lib")) if os.path.isdir(d))
ptxas = next((p for p in [os.path.join(site, "nvidia", "cuda_nvcc", "bin", "ptxas"),
                          os.path.join(site, "nvidia", "cu13", "bin", "ptxas"),
                          shutil.which("ptxas") or "", "/usr/local/cuda/bin/ptxas"] if p and os.path.isfile(p)), "")
print(so)
print(f"jax-{variant}-pjrt=={version}")
print(":".join(libs))
print(ptxas)
PY
	)"; then
		echo "install-pjrt: $from_python has no usable jax CUDA plugin (see above)" >&2
		exit 1
	fi
	mapfile -t f <<<"$found"
	src_so="${f[0]}" spec="${f[1]}" libs="${f[2]:-}" ptxas="${f[3]:-}"
	so="$dest/pjrt_c_api_cuda_plugin.so"
	version_file="$dest/pjrt_c_api_cuda_plugin.version"
	envfile="$dest/nvidia-$plugin.env"
	mkdir -p "$dest"
	if [ -f "$so" ] && [ -f "$version_file" ] && cmp -s "$src_so" "$so" &&
		[ "$(cat "$version_file")" = "$spec $(sha256sum "$so" | cut -d' ' -f1)" ]; then
		echo "up to date: $so ($spec from $src_so)"
	else
		cp "$src_so" "$so.tmp"
		mv "$so.tmp" "$so"
		echo "$spec $(sha256sum "$so" | cut -d' ' -f1)" >"$version_file.tmp"
		mv "$version_file.tmp" "$version_file"
		echo "installed $so ($spec, copied from $src_so)"
	fi
	{
		echo "# written by scripts/install-pjrt.sh $plugin --from-python $from_python ($spec)"
		if [ -n "$libs" ]; then
			echo "export LD_LIBRARY_PATH=\"$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
		fi
		if [ -n "$ptxas" ]; then
			root="$(dirname "$(dirname "$ptxas")")"
			if [ -d "$root/nvvm/libdevice" ]; then
				echo "export XLA_FLAGS=\"--xla_gpu_cuda_data_dir=$root\${XLA_FLAGS:+ \$XLA_FLAGS}\""
			fi
			echo "export PATH=\"$(dirname "$ptxas"):\$PATH\""
		fi
	} >"$envfile.tmp"
	mv "$envfile.tmp" "$envfile"
	echo "NVIDIA libraries: ${libs:-none in that environment}; ptxas: ${ptxas:-not found}"
	echo "before running: source $envfile"
	echo "use it with: export PJRT_PLUGIN_LIBRARY_PATH=$(cd "$dest" && pwd)"
	exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "install-pjrt: python3 not found (needed for pip download of $wheel_spec)" >&2
	exit 1
fi
if ! python3 -m pip --version >/dev/null 2>&1; then
	echo "install-pjrt: python3 has no pip module (needed for pip download of $wheel_spec)" >&2
	exit 1
fi

so="$dest/pjrt_c_api_${name}_plugin.so"
version_file="$dest/pjrt_c_api_${name}_plugin.version"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -n "$wheels" ]; then
	mkdir -p "$wheels"
	wheels="$(cd "$wheels" && pwd)"
fi

# fetch_wheels DEST SPEC...: pip download of exact pins without
# dependencies. With --wheels, DEST is the wheel folder: the wheels already
# there are used without PyPI (--no-index), the others downloaded into it.
fetch_wheels() {
	local dest="$1"
	shift
	if [ -n "$wheels" ]; then
		if python3 -m pip download --quiet --no-deps --no-index --find-links "$wheels" --dest "$wheels" "$@" 2>/dev/null; then
			return 0
		fi
		dest="$wheels"
	fi
	python3 -m pip download --quiet --no-deps --dest "$dest" "$@"
}

# wheel_file DIR SPEC: the wheel of the pin NAME==VERSION in DIR.
wheel_file() {
	local name="${2%%==*}" version="${2##*==}" f
	for f in "$1/${name//-/_}-${version}-"*.whl; do
		if [ -f "$f" ]; then
			echo "$f"
			return 0
		fi
	done
}

install_plugin() {
	if ! fetch_wheels "$tmp" "$wheel_spec"; then
		echo "install-pjrt: pip could not download $wheel_spec from PyPI" >&2
		exit 1
	fi
	wheel="$(wheel_file "${wheels:-$tmp}" "$wheel_spec")"
	if [ -z "$wheel" ]; then
		echo "install-pjrt: no wheel of $wheel_spec in ${wheels:-$tmp} after pip download" >&2
		exit 1
	fi
	# Streamed: the CUDA plugin is about 400 MB unpacked.
	if ! python3 - "$wheel" "$inner" "$tmp/plugin.so" <<'PY'; then
import shutil, sys, zipfile
wheel, inner, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(inner) as src, open(out, "wb") as f:
    shutil.copyfileobj(src, f, 1 << 20)
PY
		echo "install-pjrt: $(basename "$wheel") has no file $inner" >&2
		exit 1
	fi
	# A truncated plugin crashes the loader instead of failing cleanly.
	if ! grep -q GetPjrtApi "$tmp/plugin.so"; then
		echo "install-pjrt: $inner in $(basename "$wheel") has no GetPjrtApi symbol" >&2
		exit 1
	fi
	mkdir -p "$dest"
	mv "$tmp/plugin.so" "$so.tmp"
	mv "$so.tmp" "$so"
	echo "$wheel_spec $(sha256sum "$so" | cut -d' ' -f1)" >"$version_file.tmp"
	mv "$version_file.tmp" "$version_file"
	echo "installed $so ($wheel_spec)"
}

# Idempotent: the same pin with an intact plugin is left alone.
if [ -f "$so" ] && [ -f "$version_file" ] &&
	[ "$(cat "$version_file")" = "$wheel_spec $(sha256sum "$so" | cut -d' ' -f1)" ]; then
	echo "up to date: $so ($wheel_spec)"
else
	install_plugin
fi

if [ "$with_nvidia" = 1 ]; then
	nvdir="$dest/nvidia-$plugin"
	envfile="$dest/nvidia-$plugin.env"
	plugin_spec="jax-${plugin}-plugin==${jax_version}"
	if [ -f "$nvdir/.installed" ] && [ "$(cat "$nvdir/.installed")" = "$plugin_spec" ] && [ -f "$envfile" ]; then
		echo "up to date: $nvdir (NVIDIA wheels of ${plugin_spec}[with-cuda])"
	else
		# Only the metadata of jax-cudaNN-plugin is needed: its "with-cuda"
		# extra names the NVIDIA wheels and their version bounds.
		mkdir -p "$tmp/meta"
		if ! fetch_wheels "$tmp/meta" "$plugin_spec"; then
			echo "install-pjrt: pip could not download $plugin_spec from PyPI (for the list of NVIDIA wheels)" >&2
			exit 1
		fi
		meta_wheel="$(wheel_file "${wheels:-$tmp/meta}" "$plugin_spec")"
		mapfile -t nvidia_specs < <(python3 - "$meta_wheel" <<'PY'
import re, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    for line in z.read(meta).decode().splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        req, _, marker = line[len("Requires-Dist:"):].partition(";")
        if re.search(r'extra\s*==\s*"with-cuda"', marker) and req.strip().startswith("nvidia"):
            print(req.strip().replace(" ", ""))
PY
		)
		if [ "${#nvidia_specs[@]}" = 0 ]; then
			echo "install-pjrt: found no nvidia-* wheels in the with-cuda extra of $plugin_spec" >&2
			exit 1
		fi
		echo "installing into $nvdir: ${nvidia_specs[*]}"
		rm -rf "$nvdir.tmp"
		from=()
		if [ -n "$wheels" ]; then
			# Resolve the bounds against the wheel folder first (offline);
			# download what is missing into it, then install from it only.
			if ! python3 -m pip download --quiet --no-deps --no-index --find-links "$wheels" --dest "$wheels" "${nvidia_specs[@]}" 2>/dev/null &&
				! python3 -m pip download --quiet --no-deps --dest "$wheels" "${nvidia_specs[@]}"; then
				echo "install-pjrt: pip could not download the NVIDIA wheels ${nvidia_specs[*]}" >&2
				exit 1
			fi
			from=(--no-index --find-links "$wheels")
		fi
		if ! python3 -m pip install --quiet --no-deps "${from[@]+"${from[@]}"}" --target "$nvdir.tmp" "${nvidia_specs[@]}"; then
			rm -rf "$nvdir.tmp"
			echo "install-pjrt: pip could not install the NVIDIA wheels ${nvidia_specs[*]}" >&2
			exit 1
		fi
		echo "$plugin_spec" >"$nvdir.tmp/.installed"
		rm -rf "$nvdir"
		mv "$nvdir.tmp" "$nvdir"
		abs="$(cd "$nvdir" && pwd)"
		libs="$(find "$abs/nvidia" -type d -name lib | sort | paste -sd: -)"
		nvcc="$(dirname "$(find "$abs/nvidia" -type f -name ptxas | head -n1)")"
		if [ -z "$libs" ] || [ "$nvcc" = . ]; then
			echo "install-pjrt: $nvdir has no nvidia/*/lib folders or no ptxas" >&2
			exit 1
		fi
		{
			echo "# written by scripts/install-pjrt.sh $plugin --with-nvidia (${plugin_spec}[with-cuda])"
			echo "export LD_LIBRARY_PATH=\"$libs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
			echo "export XLA_FLAGS=\"--xla_gpu_cuda_data_dir=$(dirname "$nvcc")\${XLA_FLAGS:+ \$XLA_FLAGS}\""
			echo "export PATH=\"$nvcc:\$PATH\""
		} >"$envfile.tmp"
		mv "$envfile.tmp" "$envfile"
		echo "installed NVIDIA runtime wheels in $nvdir"
	fi
	echo "before running: source $envfile"
elif [ "$name" = cuda ]; then
	echo "the CUDA plugin needs NVIDIA's runtime libraries (cuBLAS, cuDNN, ...) on LD_LIBRARY_PATH at run time:"
	echo "rerun with --with-nvidia to install them from PyPI, or see the comment at the top of $0"
fi
echo "use it with: export PJRT_PLUGIN_LIBRARY_PATH=$(cd "$dest" && pwd)"
