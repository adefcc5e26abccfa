#!/usr/bin/env bash
# Everything gosnn measures on a GPU machine, in one command and one time
# budget (default 600 s of wall time, installs included), for the minutes a
# GPU machine is lent:
#
#   bash scripts/gpu-check.sh [--dry-run] [--wheels DIR] [--out DIR]
#                             [--budget SECONDS] [--cuda cuda12|cuda13]
#                             [--batch-sizes LIST] [--no-jaxsnn] [--skip STEPS]
#                             [--from-python PY] [--bin DIR] [--jaxsnn-python PY]
#                             [--tar FILE]
#   bash scripts/gpu-check.sh --build-bins DIR
#
# On a machine without PyPI or Go that has CUDA jax (this project's lent
# GPU machines: jax-cuda13 in python3, no Go, nothing fetched there):
# --build-bins DIR, run where Go is, packs the gosnn binary and the test
# binaries of graph, event and train (stripped, 66 MB) into
# DIR/gosnn-bins.tar.gz and the installed CPU plugin into
# DIR/pjrt_c_api_cpu_plugin.so.xz (40 MB); there, --bin DIR unpacks them
# instead of building and installing, --from-python python3
# takes the CUDA plugin and NVIDIA libraries from that Python's jax instead
# of PyPI, and --jaxsnn-python python3 runs jaxsnn (its wheel in --wheels,
# installed with --no-deps beside the environment's own jax), and --tar
# FILE packs the results folder into one .tar.gz (what such a machine can
# send back).
#
# Steps (each under `timeout`, capped by what is left of the budget; a step
# that fails is recorded and the next one runs; the summary always runs):
#   machine       nvidia-smi, driver, CPUs, memory, Go, Python -> machine.txt
#   install-cpu   scripts/install-pjrt.sh cpu pjrt (the xla:cpu comparison)
#   install-cuda  scripts/install-pjrt.sh cuda12 pjrt --with-nvidia: the CUDA
#                 PJRT plugin and NVIDIA's runtime wheels (cuBLAS, cuDNN, ...)
#   build         go build ./cmd/gosnn, and the test binaries
#   devices       nvidia-smi -L, gosnn backends, gosnn's CUDA diagnosis and
#                 the devices the xla:cuda backend sees -> devices.txt
#   smoke         gosnn train yinyang --backend xla:cuda --epochs 2
#   agree         the tests comparing xla:cuda with the pure-Go backend
#                 (GOSNN_XLA_BACKEND=xla:cuda): spike times, gradients,
#                 losses, weights, for every layer kind and method
#   bench         gosnn bench --backends xla:cuda,xla:cpu, every method
#   sweep-cuda-bN gosnn bench on xla:cuda at batch size N, N in 64..8192
#   data-parallel gosnn bench --devices N (only with >= 2 GPUs)
#   sweep-cpu-bN  the same on xla:cpu (its best batch size is the reference)
#   jaxsnn        jaxsnn 0.3.0's examples on CUDA jax, whole processes at 1
#                 and 3 epochs (only when >= 150 s are left)
#   summary       summary.json, summary.md, throughput.png (matplotlib)
#
# --wheels DIR (default ~/.cache/gosnn-gpu-check/wheels) keeps every wheel
# downloaded (plugins, NVIDIA runtime, jax, jaxsnn); a second run, or a
# machine given a copy of DIR, installs from it without PyPI. Size: 3.23 GB
# for the plugins and NVIDIA wheels (PyPI's file sizes, 2026-12-01), plus
# jax and jaxsnn's when that step runs. Results go to
# --out (default results/gpu-check-<UTC time>): logs/, machine.txt,
# devices.txt, steps.tsv, bench/, sweep/, data-parallel/, jaxsnn/,
# summary.json, summary.md, throughput.png. --dry-run prints every step
# and runs none; --skip a,b leaves out the steps named (e.g. install-cuda
# on a machine where it is done).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
self="$repo/scripts/gpu-check.sh"

usage() {
	sed -n '2,/^set -euo/p' "$self" | sed '$d' | sed 's/^# \{0,1\}//'
}

die() {
	echo "gpu-check: $*" >&2
	exit 2
}

# --run-step FN ARGS: the internal steps, run by `timeout` in a new bash.
if [ "${1:-}" = --run-step ]; then
	shift
	mode=internal
else
	mode=main
fi

dry_run=0
wheels="${HOME:-/tmp}/.cache/gosnn-gpu-check/wheels"
out=""
budget=600
cuda=cuda12
jaxsnn=1
batch_sizes="64,1024,8192,256,4096,128,512,2048" # interleaved: a cut sweep still spans the range
methods="ttfs,eventprop,eventprop-recurrent"
skip=""
from_python=""
bins=""
jaxsnn_python=""
build_bins=""
tar_to=""
if [ "$mode" = main ]; then
	while [ $# -gt 0 ]; do
		case "$1" in
		--dry-run) dry_run=1 ;;
		--wheels | --out | --budget | --cuda | --batch-sizes | --skip | --from-python | --bin | --jaxsnn-python | --build-bins | --tar)
			[ $# -ge 2 ] || die "$1 needs a value"
			case "$1" in
			--from-python) from_python="$2" ;;
			--bin) bins="$(realpath -m "$2")" ;;
			--jaxsnn-python) jaxsnn_python="$2" ;;
			--build-bins) build_bins="$2" ;;
			--tar) tar_to="$(realpath -m "$2")" ;;
			--skip) skip="$2" ;;
			--wheels) wheels="$2" ;;
			--out) out="$2" ;;
			--budget) budget="$2" ;;
			--cuda) cuda="$2" ;;
			--batch-sizes) batch_sizes="$2" ;;
			esac
			shift
			;;
		--no-jaxsnn) jaxsnn=0 ;;
		-h | --help)
			usage
			exit 0
			;;
		*) die "unknown argument '$1' (see --help)" ;;
		esac
		shift
	done
	if ! [[ "$budget" =~ ^[0-9]+$ ]] || [ "$budget" -lt 60 ]; then
		die "--budget must be a whole number of seconds >= 60, got '$budget'"
	fi
	case "$cuda" in cuda12 | cuda13) ;; *) die "--cuda must be cuda12 or cuda13, got '$cuda'" ;; esac
	[[ "$batch_sizes" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--batch-sizes must be a comma-separated list of numbers, got '$batch_sizes'"
	out="${out:-results/gpu-check-$(date -u +%Y%m%d-%H%M%S)}"
fi

# ---- internal steps (run as: bash gpu-check.sh --run-step FN ARGS) ----

machine_info() { # OUT
	{
		echo "# gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ), gosnn $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
		uname -a
		echo "cpus: $(nproc)"
		free -g 2>/dev/null || true
		df -h "$repo" 2>/dev/null || true
		cat /proc/driver/nvidia/version 2>/dev/null || echo "no /proc/driver/nvidia/version"
		ls /dev/nvidia* 2>/dev/null || echo "no /dev/nvidia*"
		if command -v nvidia-smi >/dev/null 2>&1; then
			nvidia-smi
			nvidia-smi --query-gpu=index,name,driver_version,memory.total,compute_cap --format=csv
		else
			echo "nvidia-smi: not on PATH"
		fi
		go version 2>&1 || echo "go: not found"
		python3 --version 2>&1 || echo "python3: not found"
	} >"$1/machine.txt" 2>&1
	cat "$1/machine.txt"
}

build() { # BIN
	cd "$repo"
	go build -o "$1" ./cmd/gosnn
	# Compile the test binaries now, so that the agree step times tests only.
	go test -count=1 -run '^$' ./graph ./event ./train
}

# build_bins DIR: gosnn and the test binaries for a machine without Go,
# packed as DIR/gosnn-bins.tar.gz (24 MB), and the installed CPU plugin as
# DIR/pjrt_c_api_cpu_plugin.so.xz (40 MB; xz takes minutes): together they
# fit the 64 MiB a lent machine is sent, with about 2 MB to spare.
build_bins() {
	cd "$repo"
	local dir="$1" p
	mkdir -p "$dir/bin"
	go build -trimpath -ldflags='-s -w' -o "$dir/bin/gosnn" ./cmd/gosnn
	for p in graph event train; do
		go test -c -trimpath -ldflags='-s -w' -o "$dir/bin/$p.test" "./$p"
	done
	tar -czf "$dir/gosnn-bins.tar.gz.tmp" -C "$dir/bin" .
	mv "$dir/gosnn-bins.tar.gz.tmp" "$dir/gosnn-bins.tar.gz"
	rm -rf "${dir:?}/bin" # 66 MB: only the archive is to be sent
	if [ -f pjrt/pjrt_c_api_cpu_plugin.so ] && [ ! -f "$dir/pjrt_c_api_cpu_plugin.so.xz" ]; then
		xz -T0 -6 -c pjrt/pjrt_c_api_cpu_plugin.so >"$dir/pjrt_c_api_cpu_plugin.so.xz.tmp"
		mv "$dir/pjrt_c_api_cpu_plugin.so.xz.tmp" "$dir/pjrt_c_api_cpu_plugin.so.xz"
		cp pjrt/pjrt_c_api_cpu_plugin.version "$dir/"
	fi
	ls -l "$dir"
}

# unpack_bins SRC DEST: the binaries of --bin (a folder of them, or one
# holding gosnn-bins.tar.gz, or that archive) into DEST.
unpack_bins() {
	local src="$1" dest="$2"
	if [ -d "$src" ] && [ -f "$src/gosnn-bins.tar.gz" ]; then
		src="$src/gosnn-bins.tar.gz"
	fi
	if [ -f "$src" ]; then
		python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$src" "$dest"
	else
		cp -p "$src"/gosnn "$src"/*.test "$dest/"
	fi
}

# unpack_cpu SRC: the CPU plugin packed by build_bins into pjrt/.
unpack_cpu() {
	mkdir -p "$repo/pjrt"
	python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"), 1 << 20)' \
		"$1/pjrt_c_api_cpu_plugin.so.xz" "$repo/pjrt/pjrt_c_api_cpu_plugin.so.tmp"
	mv "$repo/pjrt/pjrt_c_api_cpu_plugin.so.tmp" "$repo/pjrt/pjrt_c_api_cpu_plugin.so"
	cp "$1/pjrt_c_api_cpu_plugin.version" "$repo/pjrt/"
	ls -l "$repo/pjrt"
}

# gotest BINS REGEXP PKG...: go test -v of the packages, or their test
# binaries from BINS (run in the package's folder, as go test does).
gotest() {
	local bins="$1" run="$2" p rc=0
	shift 2
	cd "$repo"
	if [ -z "$bins" ]; then
		go test -count=1 -v -run "$run" "$@"
		return
	fi
	for p in "$@"; do
		p="${p#./}"
		echo "== $bins/$p.test -test.run '$run'"
		(cd "$repo/$p" && "$bins/$p.test" -test.count=1 -test.v -test.run "$run") || rc=$?
	done
	return "$rc"
}

devices() { # BIN OUT BINS
	{
		nvidia-smi -L 2>&1 || echo "nvidia-smi: not available"
		echo "gosnn backends: $("$1" backends | paste -sd' ' -)"
		GOSNN_XLA_BACKEND="xla:cuda" gotest "$3" 'TestHostCUDA' ./graph
	} 2>&1 | tee "$2/devices.txt"
}

agree() { # BINS
	GOSNN_XLA_BACKEND="xla:cuda" gotest "$1" \
		'TestMaterialize|TestXLAMatchesPureGo|TestBackendsAgreeOnTraining|TestDataParallelMatchesOneDevice|TestHostCUDA' \
		./graph ./event ./train
}

jaxsnn_run() { # OUT WHEELS CUDA VENV [PYTHON]
	local out="$1" wheels="$2" cuda="$3" venv="$4" py
	py="$venv/bin/python"
	if [ -n "${5:-}" ]; then
		# A Python that has CUDA jax: only jaxsnn itself is added, beside it.
		py="$5"
		export PYTHONPATH="$venv/site${PYTHONPATH:+:$PYTHONPATH}"
		if ! "$py" -c 'import jaxsnn' 2>/dev/null; then
			# jaxsnn 0.3.0 needs jax, jaxlib, scipy, optax, matplotlib,
			# networkx and tree-math; the lent machines lack tree-math only.
			"$py" -m pip install --quiet --no-deps --no-index --find-links "$wheels" --target "$venv/site" "jaxsnn==0.3.0" tree-math
		fi
	elif ! "$py" -c 'import jaxsnn' 2>/dev/null; then
		python3 -m venv "$venv"
		# jax[cudaNN-local] takes CUDA from $LD_LIBRARY_PATH, where the NVIDIA
		# wheels of install-pjrt.sh --with-nvidia already are.
		local specs=("jaxsnn==0.3.0" "jax[${cuda}-local]" matplotlib)
		"$py" -m pip download --quiet --dest "$wheels" "${specs[@]}" ||
			echo "pip download failed: installing from $wheels only"
		"$py" -m pip install --quiet --no-index --find-links "$wheels" "${specs[@]}"
	fi
	JAX_PLATFORMS=cuda "$py" -c 'import jax, jaxsnn; print("jax", jax.__version__, jax.devices())'
	mkdir -p "$out/jaxsnn/work"
	echo -e "example\tepochs\trc\tseconds" >"$out/jaxsnn/processes.tsv"
	local ex epochs began ms rc
	for ex in event.yinyang_analytical event.yinyang_layered_event_prop event.yinyang_recurrent_event_prop discrete.yinyang; do
		for epochs in 1 3; do
			began=$(date +%s%N)
			rc=0
			# JAX_PLATFORMS=cuda: fail rather than time jax's CPU fallback.
			(cd "$out/jaxsnn/work" && JAX_PLATFORMS=cuda "$py" -m "jaxsnn.examples.$ex" --epochs "$epochs" --seed 0) \
				>"$out/jaxsnn/$ex-$epochs.log" 2>&1 || rc=$?
			ms=$((($(date +%s%N) - began) / 1000000))
			printf '%s\t%s\t%s\t%d.%03d\n' "$ex" "$epochs" "$rc" $((ms / 1000)) $((ms % 1000)) | tee -a "$out/jaxsnn/processes.tsv"
		done
	done
}

summarize() { # OUT
	local py=python3
	for p in "$1/../.gpu-check-jaxsnn-venv/bin/python" python3; do
		if "$p" -c 'import matplotlib' 2>/dev/null; then
			py="$p"
			break
		fi
	done
	"$py" - "$1" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
rows = []
for path in sorted(glob.glob(os.path.join(out, "**", "bench.json"), recursive=True)):
    part = os.path.relpath(path, out).split(os.sep)[0]
    with open(path) as f:
        bench = json.load(f)
    for r in bench.get("rows", []):
        rows.append({"part": part, "method": r["method"], "backend": r["backend"],
                     "batch_size": bench["args"]["batch_size"], "devices": bench["args"]["devices"],
                     "seconds_per_epoch": r["seconds_per_epoch"], "samples_per_second": r["train_samples_per_second"],
                     "compile_seconds": r["compile_seconds"], "first_epoch_seconds": r["first_epoch_seconds"],
                     "test_accuracy": r["test_accuracy"], "epochs": r["epochs"], "error": r.get("error", "")})
best = {}
for r in rows:
    if r["error"] or r["devices"] > 1 or not r["samples_per_second"]:
        continue
    key = (r["method"], r["backend"])
    if key not in best or r["samples_per_second"] > best[key]["samples_per_second"]:
        best[key] = r
ratios = {}
for (method, backend), r in best.items():
    cpu = best.get((method, "xla:cpu"))
    if backend == "xla:cuda" and cpu:
        ratios[method] = {"cuda_best_batch": r["batch_size"], "cpu_best_batch": cpu["batch_size"],
                          "cuda_over_cpu_samples_per_second": r["samples_per_second"] / cpu["samples_per_second"]}
jax = []
tsv = os.path.join(out, "jaxsnn", "processes.tsv")
if os.path.exists(tsv):
    with open(tsv) as f:
        head = f.readline().split()
        jax = [dict(zip(head, line.split())) for line in f if line.strip()]
steps = []
if os.path.exists(os.path.join(out, "steps.tsv")):
    with open(os.path.join(out, "steps.tsv")) as f:
        head = f.readline().rstrip("\n").split("\t")
        steps = [dict(zip(head, line.rstrip("\n").split("\t"))) for line in f if line.strip()]
summary = {"steps": steps, "rows": rows, "best_batch": [best[k] for k in sorted(best)], "cuda_over_cpu": ratios,
           "jaxsnn_processes": jax}
with open(os.path.join(out, "summary.json.tmp"), "w") as f:
    json.dump(summary, f, indent=1)
os.replace(os.path.join(out, "summary.json.tmp"), os.path.join(out, "summary.json"))
lines = ["# gpu-check summary", "", "| step | rc | seconds |", "|---|---|---|"]
lines += [f"| {s['step']} | {s['rc']} | {s['seconds']} |" for s in steps]
lines += ["", "| part | method | backend | batch | devices | s/epoch | samples/s | compile s | test acc % | error |",
          "|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    lines.append(f"| {r['part']} | {r['method']} | {r['backend']} | {r['batch_size']} | {r['devices']} | "
                 f"{r['seconds_per_epoch']:.3f} | {r['samples_per_second']:.0f} | {r['compile_seconds']:.1f} | "
                 f"{100 * r['test_accuracy']:.1f} | {r['error'][:80]} |")
lines += ["", "xla:cuda over xla:cpu, samples/s at each one's best batch size (goal >= 5):", ""]
lines += [f"- {m}: {v['cuda_over_cpu_samples_per_second']:.2f}x (cuda batch {v['cuda_best_batch']}, cpu batch {v['cpu_best_batch']})"
          for m, v in sorted(ratios.items())]
if jax:
    lines += ["", "jaxsnn 0.3.0 on CUDA jax, whole processes (seconds):", ""]
    lines += [f"- {j['example']} --epochs {j['epochs']}: {j['seconds']} s (rc {j['rc']})" for j in jax]
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("no matplotlib: no throughput.png")
    sys.exit(0)
fig, ax = plt.subplots(figsize=(7, 4.5))
for method in sorted({r["method"] for r in rows}):
    for backend in sorted({r["backend"] for r in rows}):
        pts = sorted((r["batch_size"], r["samples_per_second"]) for r in rows
                     if r["part"] == "sweep" and r["method"] == method and r["backend"] == backend and not r["error"])
        if pts:
            ax.plot(*zip(*pts), marker="o", label=f"{method} {backend}")
ax.set_xscale("log", base=2)
ax.set_yscale("log")
ax.set_xlabel("batch size")
ax.set_ylabel("training samples / s")
ax.set_title("gosnn throughput (Yin-Yang)")
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(os.path.join(out, "throughput.png"), dpi=120)
print("wrote", os.path.join(out, "throughput.png"))
PY
}

if [ "$mode" = internal ]; then
	fn="$1"
	shift
	case "$fn" in
	machine_info | build | build_bins | unpack_cpu | devices | agree | jaxsnn_run | summarize) "$fn" "$@" ;;
	*) die "unknown step function '$fn'" ;;
	esac
	exit
fi

# ---- the plan ----

cd "$repo"
if [ -n "$build_bins" ]; then
	build_bins "$build_bins"
	exit
fi
export GOMLX_NO_AUTO_INSTALL=1
export PJRT_PLUGIN_LIBRARY_PATH="$repo/pjrt"
deadline=$((SECONDS + budget))
reserve=20 # kept for the summary
n=0
bin_dir=""
if [ "$dry_run" = 1 ]; then
	echo "gpu-check --dry-run: budget ${budget}s, results in $out, wheels in $wheels; nothing is run"
	echo "export GOMLX_NO_AUTO_INSTALL=1 PJRT_PLUGIN_LIBRARY_PATH=$PJRT_PLUGIN_LIBRARY_PATH"
	bin_dir="<tmp>"
	bin="<tmp>/gosnn"
else
	mkdir -p "$out/logs" "$wheels"
	out="$(cd "$out" && pwd)"
	wheels="$(cd "$wheels" && pwd)"
	bin_dir="$(mktemp -d)"
	trap 'rm -rf "$bin_dir"' EXIT
	bin="$bin_dir/gosnn"
	echo -e "step\trc\tseconds\tcommand" >"$out/steps.tsv"
	echo "gpu-check: budget ${budget}s, results in $out, wheels in $wheels"
fi

# step NAME CAP CMD...: runs CMD under timeout (at most CAP seconds, less
# when the budget runs out; skipped under 5 s), output to logs/NN-NAME.log,
# a line in steps.tsv. Never fails: a failing step is recorded.
step() {
	local name="$1" cap="$2"
	shift 2
	n=$((n + 1))
	local shown="$*"
	shown="${shown//"$self --run-step"/gpu-check:}"
	if [[ ",$skip," == *",$name,"* ]]; then
		echo "== [$n] $name: skipped (--skip)"
		[ "$dry_run" = 1 ] || echo -e "$name\tskipped\t0\t$shown" >>"$out/steps.tsv"
		return 0
	fi
	if [ "$dry_run" = 1 ]; then
		printf '%2d. %-16s timeout %4ss  %s\n' "$n" "$name" "$cap" "$shown"
		return 0
	fi
	local left=$((deadline - SECONDS - reserve))
	if [ "$name" = summary ]; then
		left=$cap # always: it only reads what the others wrote
	fi
	local t=$((cap < left ? cap : left))
	local log
	log="$(printf '%s/logs/%02d-%s.log' "$out" "$n" "$name")"
	if [ "$t" -lt 5 ]; then
		echo "== [$n] $name: skipped (budget spent)"
		echo -e "$name\tskipped\t0\t$shown" >>"$out/steps.tsv"
		return 0
	fi
	echo "== [$n] $name (timeout ${t}s): $shown"
	local began=$SECONDS rc=0
	echo "\$ $shown" >"$log"
	# In a subshell that outlives timeout, so that the shell's "Killed"
	# notice lands in the log. gosnn stops at the next batch after SIGTERM.
	(
		timeout --kill-after=15 "$t" "$@"
		exit $?
	) >>"$log" 2>&1 || rc=$?
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		rc="timeout"
	fi
	echo -e "$name\t$rc\t$((SECONDS - began))\t$shown" >>"$out/steps.tsv"
	tail -n 4 "$log" | sed 's/^/   /'
	echo "   -> rc $rc, $((SECONDS - began))s, $((deadline - SECONDS))s of the budget left"
}

# note MESSAGE: a line of the plan that is not a step.
note() {
	if [ "$dry_run" = 1 ]; then
		echo "    $*"
	fi
}

step machine 20 bash "$self" --run-step machine_info "$out"
note "  = uname, nproc, free, df, /proc/driver/nvidia/version, ls /dev/nvidia*, nvidia-smi, go version, python3 --version > machine.txt"
bin_src="$bins"
if [ -n "$bin_src" ] && [ -f "$bin_src/pjrt_c_api_cpu_plugin.so.xz" ]; then
	step install-cpu 90 bash "$self" --run-step unpack_cpu "$bin_src"
	note "  = $bin_src/pjrt_c_api_cpu_plugin.so.xz (from --build-bins) -> pjrt/pjrt_c_api_cpu_plugin.so"
else
	step install-cpu 90 bash scripts/install-pjrt.sh cpu pjrt --wheels "$wheels"
fi
if [ -n "$from_python" ]; then
	step install-cuda 120 bash scripts/install-pjrt.sh "$cuda" pjrt --from-python "$from_python"
else
	step install-cuda 300 bash scripts/install-pjrt.sh "$cuda" pjrt --with-nvidia --wheels "$wheels"
fi
envfile="pjrt/nvidia-$cuda.env"
note "source $envfile   (LD_LIBRARY_PATH, PATH and XLA_FLAGS of the NVIDIA wheels, for every later step)"
if [ "$dry_run" = 0 ]; then
	if [ -f "$envfile" ]; then
		# shellcheck source=/dev/null
		source "$envfile"
	fi
	du -sh "$wheels" >"$out/wheels-size.txt" 2>&1 || true
	ls -l "$wheels" >>"$out/wheels-size.txt" 2>&1 || true
fi
note "du -sh $wheels > wheels-size.txt"
if [ -n "$bins" ]; then
	[ -e "$bin_src" ] || die "--bin $bins does not exist"
	if [ "$dry_run" = 0 ]; then
		unpack_bins "$bin_src" "$bin_dir"
	fi
	bins="$bin_dir"
	bin="$bins/gosnn"
	note "(--bin: $bin_src unpacked: $bin and {graph,event,train}.test instead of the build step)"
else
	step build 240 bash "$self" --run-step build "$bin"
	note "  = go build -o $bin ./cmd/gosnn && go test -count=1 -run '^\$' ./graph ./event ./train"
fi
gotest_how="go test -v -run"
if [ -n "$bins" ]; then
	gotest_how="$bins/<pkg>.test -test.v -test.run"
fi
step devices 60 bash "$self" --run-step devices "$bin" "$out" "$bins"
note "  = nvidia-smi -L; $bin backends; GOSNN_XLA_BACKEND=xla:cuda $gotest_how TestHostCUDA (graph) > devices.txt"
step smoke 120 "$bin" train yinyang --backend xla:cuda --epochs 2 --out "$out/train"
step agree 240 bash "$self" --run-step agree "$bins"
note "  = GOSNN_XLA_BACKEND=xla:cuda $gotest_how 'TestMaterialize|TestXLAMatchesPureGo|TestBackendsAgreeOnTraining|TestDataParallelMatchesOneDevice|TestHostCUDA' (graph, event, train)"
step bench 150 "$bin" bench --backends xla:cuda,xla:cpu --methods "$methods" --epochs 3 --quiet --out "$out/bench"
IFS=, read -r -a sizes <<<"$batch_sizes"
for b in "${sizes[@]}"; do
	step "sweep-cuda-b$b" 60 "$bin" bench --backends xla:cuda --methods "$methods" --batch-size "$b" --epochs 2 --quiet --out "$out/sweep/cuda-b$b"
done

# Data-parallel over every GPU: N must divide the batch (1024) and the
# evaluation batch (200), so N is the largest of 8, 4, 2 not above the count.
gpus=0
if [ "$dry_run" = 0 ] && command -v nvidia-smi >/dev/null 2>&1; then
	gpus="$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)"
fi
devices_n=0
for d in 8 4 2; do
	if [ "$gpus" -ge "$d" ]; then
		devices_n=$d
		break
	fi
done
if [ "$dry_run" = 1 ]; then
	note "only when nvidia-smi -L lists >= 2 GPUs (N = 8, 4 or 2):"
	step data-parallel 120 "$bin" bench --backends xla:cuda --methods "$methods" --devices N --batch-size 1024 --epochs 3 --quiet --out "$out/data-parallel"
elif [ "$devices_n" -ge 2 ]; then
	step data-parallel 120 "$bin" bench --backends xla:cuda --methods "$methods" --devices "$devices_n" --batch-size 1024 --epochs 3 --quiet --out "$out/data-parallel"
else
	echo "== data-parallel: skipped ($gpus GPU(s))"
fi

# xla:cpu compiles slower than it trains: its sweep comes after the GPU's.
for b in "${sizes[@]}"; do
	step "sweep-cpu-b$b" 90 "$bin" bench --backends xla:cpu --methods "$methods" --batch-size "$b" --epochs 2 --quiet --out "$out/sweep/cpu-b$b"
done

if [ "$jaxsnn" = 1 ]; then
	note "only when >= 150 s of the budget are left:"
	if [ "$dry_run" = 1 ] || [ $((deadline - SECONDS - reserve)) -ge 150 ]; then
		step jaxsnn 600 bash "$self" --run-step jaxsnn_run "$out" "$wheels" "$cuda" "$out/../.gpu-check-jaxsnn-venv" "$jaxsnn_python"
		if [ -n "$jaxsnn_python" ]; then
			note "  = $jaxsnn_python -m pip install --no-deps --no-index --find-links $wheels --target <venv>/site jaxsnn==0.3.0 tree-math (beside its own CUDA jax);"
		else
			note "  = python3 -m venv; pip download --dest $wheels and pip install --no-index --find-links $wheels jaxsnn==0.3.0 jax[$cuda-local] matplotlib;"
		fi
		note "    python -m jaxsnn.examples.{event.yinyang_analytical,event.yinyang_layered_event_prop,event.yinyang_recurrent_event_prop,discrete.yinyang}"
		note "    --epochs 1 and 3 --seed 0, each a timed whole process > jaxsnn/processes.tsv, jaxsnn/*.log"
	else
		echo "== jaxsnn: skipped ($((deadline - SECONDS))s left)"
	fi
fi
step summary 30 bash "$self" --run-step summarize "$out"
note "  = every bench.json -> summary.json, summary.md (best batch size per method and backend, xla:cuda/xla:cpu ratios), throughput.png"
if [ -n "$tar_to" ]; then
	note "tar -czf $tar_to -C $(dirname "$out") $(basename "$out")   (--tar: the results folder as one file)"
	if [ "$dry_run" = 0 ]; then
		tar -czf "$tar_to" -C "$(dirname "$out")" "$(basename "$out")"
	fi
fi
if [ "$dry_run" = 0 ]; then
	echo "gpu-check: done in ${SECONDS}s; results in $out ($(du -sh "$out" | cut -f1))${tar_to:+, packed as $tar_to}"
fi
