"""Side-by-side Yin-Yang benchmark: gosnn against jaxsnn 0.3.0's own examples.

Run with the bench venv's Python (bash scripts/bench/setup.sh first):

    scripts/bench/.venv/bin/python scripts/bench/run.py
    scripts/bench/.venv/bin/python scripts/bench/run.py --throughput --tasks analytical

Default mode: for each task (--tasks) and each epoch count (--epochs, two of
them), one whole process of jaxsnn's example module, unchanged,

    python -m jaxsnn.examples.event.yinyang_<task> --epochs N --seed S

and one of gosnn configured to do the same work, on each backend (--backends),

    gosnn train configs/jaxsnn_yinyang_<task>.yaml --epochs N --seed S --backend B

Seconds per epoch come from three places: the whole processes (difference of
the wall times at the two epoch counts divided by the difference of the
epochs, so start-up, compilation and final evaluations cancel); the
programs' own logs (gosnn: summary.json's per-epoch seconds, epochs 2..N;
jaxsnn: the intervals between its "Epoch i" log lines as they arrive, since
the duration it prints itself does not wait for jax's asynchronous result);
and compile times (gosnn: summary.json's compile_seconds). Test accuracy is
each side's after the larger epoch count. bench.json and bench.png.

--repeats R runs every process R times and uses the fastest of each epoch
count: jaxsnn's start-up and first epoch (tracing and compiling) vary by
seconds from process to process (measured: 14.1-19.8 s for 2 discrete
epochs in one run), which the difference of two single processes lets
through. jaxsnn's discrete example also prints its own total ("Finished N
epochs in X seconds", from its weight initialisation on): bench.json's
seconds_per_epoch_own_total is the same difference of those.

--throughput: training samples per second against batch size (--batch-sizes)
for both sides, from the same per-epoch logs of one process per batch size
(2 epochs, the second timed); throughput.json and throughput.png.

Results go to --out (default <repo>/results/bench-<timestamp>, gitignored),
written in a hidden temporary folder next to it and renamed at the end
(-incomplete is appended when the run was cut short). See README.md.
"""
import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VENV_PYTHON = os.path.join(HERE, ".venv", "bin", "python")
JAXSNN_PYTHON = VENV_PYTHON if os.path.exists(VENV_PYTHON) else sys.executable

TASKS = {
    # task: (jaxsnn module, gosnn config)
    "analytical": ("jaxsnn.examples.event.yinyang_analytical", "configs/jaxsnn_yinyang_analytical.yaml"),
    "layered_event_prop": ("jaxsnn.examples.event.yinyang_layered_event_prop",
                           "configs/jaxsnn_yinyang_layered_event_prop.yaml"),
    "recurrent_event_prop": ("jaxsnn.examples.event.yinyang_recurrent_event_prop",
                             "configs/jaxsnn_yinyang_recurrent_event_prop.yaml"),
    # jaxsnn.discrete: Euler LIF, surrogate gradients, 60 steps of 0.5 ms.
    "discrete": ("jaxsnn.examples.discrete.yinyang", "configs/jaxsnn_yinyang_discrete.yaml"),
}
# How each jaxsnn example logs an epoch (a line per epoch, printed after its
# test pass) and its test accuracy: the event examples "...:Epoch 3: loss:
# ..., acc: 0.9", the discrete one "...:Epoch: 3, Loss: ..., Test accuracy: 0.9".
EPOCH_MARK = {"discrete": r":Epoch: \d+,"}
ACCURACY = {"discrete": r"Test accuracy: ([\d.]+)"}
# jaxsnn's example sizes (all three): training and per-epoch test samples.
TRAIN_SAMPLES, TEST_SAMPLES = 4992, 2944


def default_backends():
    backends = ["go"]
    for d in filter(None, os.environ.get("PJRT_PLUGIN_LIBRARY_PATH", "").split(os.pathsep)):
        if os.path.isfile(os.path.join(d, "pjrt_c_api_cpu_plugin.so")):
            backends.insert(0, "xla:cpu")
            break
    return ",".join(backends)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--tasks", default=",".join(TASKS), help="comma separated, of " + ", ".join(TASKS))
    p.add_argument("--epochs", default="1,3", help="the two epoch counts of the whole-process timing")
    p.add_argument("--backends", default=default_backends(), help="gosnn --backend values, comma separated")
    p.add_argument("--seed", type=int, default=0, help="both sides' --seed (jaxsnn's default: 0)")
    p.add_argument("--skip", default="", help="runs to leave out, comma separated TASK@SIDE "
                   "(SIDE: jaxsnn or a gosnn backend), e.g. 'recurrent_event_prop@go'")
    p.add_argument("--gosnn-args", default="", help="extra arguments of every gosnn train call")
    p.add_argument("--jaxsnn-args", default="", help="extra arguments of every jaxsnn example call")
    p.add_argument("--repeats", type=int, default=1,
                   help="processes per epoch count and side; the fastest of each is used")
    p.add_argument("--throughput", action="store_true", help="batch-size sweep instead (see above)")
    p.add_argument("--batch-sizes", default="16,32,64,128,256,512,1024")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per process")
    p.add_argument("--out", default=None, help="results folder (default <repo>/results/bench-<timestamp>)")
    return p.parse_args(argv)


def split(s):
    return [x.strip() for x in s.split(",") if x.strip()]


def load():
    """The machine's load averages (1, 5, 15 min): the machine is shared."""
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def last_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip() and not l.startswith(("INFO", "WARNING"))]
    return lines[-1].strip() if lines else ""


def run_timed(cmd, log_path, timeout, env=None, mark=None):
    """Runs cmd with stdout+stderr into log_path, line by line; returns (rc,
    text, wall seconds, arrival times of the lines matching the regex
    mark, relative to the start)."""
    t0 = time.perf_counter()
    marks = []
    with open(log_path, "w", encoding="utf-8") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env, text=True, errors="replace", bufsize=1)
        try:
            for line in proc.stdout:
                now = time.perf_counter() - t0
                log.write(line)
                if mark and re.search(mark, line):
                    marks.append(now)
                if now > timeout:
                    proc.kill()
            rc = proc.wait(timeout=max(1, timeout - (time.perf_counter() - t0)))
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = "timeout"
    wall = time.perf_counter() - t0
    with open(log_path, encoding="utf-8", errors="replace") as log:
        text = log.read()
    return rc, text, wall, marks


def mean(xs):
    return sum(xs) / len(xs) if xs else None


def run_jaxsnn(work, task, epochs, seed, extra, timeout, batch_size=None, tag=""):
    module = TASKS[task][0]
    label = f"jaxsnn-{task}-e{epochs}" + (f"-b{batch_size}" if batch_size else "") + tag
    cmd = [JAXSNN_PYTHON, "-m", module, "--epochs", str(epochs), "--seed", str(seed)]
    if batch_size:
        cmd += ["--batch-size", str(batch_size)]
    cmd += extra
    row = {"implementation": "jaxsnn", "task": task, "backend": "jax:cpu", "epochs": epochs, "seed": seed,
           "batch_size": batch_size or 64, "command": "python " + " ".join(cmd[1:]), "load_before": load()}
    print(f"[bench] {row['command']}", file=sys.stderr, flush=True)
    env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"), PYTHONUNBUFFERED="1")
    log = os.path.join(work, "logs", label + ".log")
    rc, text, wall, marks = run_timed(cmd, log, timeout, env=env, mark=EPOCH_MARK.get(task, r":Epoch \d+:"))
    row.update({"wall_seconds": wall, "log": os.path.relpath(log, work), "load_after": load()})
    if rc != 0:
        return {**row, "error": f"jaxsnn exited {rc}: {last_line(text) or 'no output'}"}
    accs = [float(a) for a in re.findall(ACCURACY.get(task, r"loss: [-\d.e+]+, acc: ([\d.]+)"), text)]
    row["test_accuracy_per_epoch"] = accs
    row["test_accuracy"] = accs[-1] if accs else None
    # jaxsnn's own "in X s" (time_it around an asynchronous lax.scan: the
    # dispatch, compilation included in epoch 1, not the computation).
    row["jaxsnn_logged_epoch_seconds"] = [float(s) for s in re.findall(r"\tin ([\d.]+)s", text)]
    # One epoch = from one "Epoch i" line to the next (printing the test
    # result waits for it).
    # The discrete example's own "Finished N epochs in X seconds": from its
    # weight initialisation to the end, Python's and jax's start-up left out.
    own = re.findall(r"Finished \d+ epochs in ([\d.]+) seconds", text)
    row["own_total_seconds"] = float(own[-1]) if own else None
    row["epoch_line_seconds"] = marks
    row["seconds_per_epoch_from_log"] = mean([b - a for a, b in zip(marks, marks[1:])])
    last = text.split("spikes:")[-1].split("grad:")[0] if "spikes:" in text else ""
    spikes = re.findall(r"\t\t(\w+): ([\d.]+)\n", last)
    row["mean_spikes_last_epoch"] = {k: float(v) for k, v in spikes}
    return row


class Gosnn:
    def __init__(self, work, timeout):
        self.work, self.timeout = work, timeout
        self.binary = os.path.join(work, "gosnn-bin")
        rc, text, _, _ = run_timed(["go", "build", "-o", self.binary, "./cmd/gosnn"],
                                   os.path.join(work, "logs", "go-build.log"), timeout)
        self.build_error = None if rc == 0 else f"go build ./cmd/gosnn failed ({rc}): {last_line(text)}"

    def train(self, task, backend, epochs, seed, extra, batch_size=None, tag=""):
        config = TASKS[task][1]
        label = f"gosnn-{task}-{backend.replace(':', '_')}-e{epochs}" + (f"-b{batch_size}" if batch_size else "") + tag
        row = {"implementation": "gosnn", "task": task, "backend": backend, "epochs": epochs, "seed": seed,
               "batch_size": batch_size or 64, "config": config, "load_before": load()}
        if self.build_error:
            return {**row, "error": self.build_error}
        out = os.path.join(self.work, "gosnn", label)
        os.makedirs(out)
        cmd = [self.binary, "train", config, "--epochs", str(epochs), "--seed", str(seed),
               "--backend", backend, "--quiet", "--out", out]
        if batch_size:
            cmd += ["--batch-size", str(batch_size)]
        cmd += extra
        row["command"] = "gosnn " + " ".join(cmd[1:cmd.index("--out")]) + " " + " ".join(cmd[cmd.index("--out") + 2:])
        print(f"[bench] {row['command']}", file=sys.stderr, flush=True)
        env = dict(os.environ, GOMLX_NO_AUTO_INSTALL="1")
        log = os.path.join(self.work, "logs", label + ".log")
        rc, text, wall, _ = run_timed(cmd, log, self.timeout, env=env)
        row.update({"wall_seconds": wall, "log": os.path.relpath(log, self.work), "load_after": load()})
        subdirs = [d for d in os.listdir(out) if os.path.isdir(os.path.join(out, d))]
        summary_path = os.path.join(out, subdirs[0], "summary.json") if len(subdirs) == 1 else None
        if rc != 0 or not summary_path or not os.path.isfile(summary_path):
            return {**row, "error": f"gosnn exited {rc}: {last_line(text) or 'no summary.json'}"}
        with open(summary_path, encoding="utf-8") as f:
            s = json.load(f)
        hist = s.get("history") or []
        secs = [h.get("seconds", 0.0) for h in hist]
        row.update({
            "run_folder": os.path.relpath(os.path.join(out, subdirs[0]), self.work),
            "backend": s.get("backend", backend),
            "test_accuracy": s.get("test_accuracy"),
            # The per-epoch evaluation is on the validation split, sized as
            # jaxsnn's per-epoch test set.
            "val_accuracy_per_epoch": [h.get("val_accuracy") for h in hist],
            "overflow_per_epoch": [h.get("overflow") for h in hist],
            "epoch_seconds": secs,
            "compile_seconds": s.get("compile_seconds"),
            "seconds_per_epoch_from_log": mean(secs[1:]) if len(secs) > 1 else None,
            "versions": s.get("versions"),
        })
        return row


def fastest(rows):
    """The repeat of one epoch count with the shortest wall time (start-up
    and compilation vary from process to process, by seconds for jaxsnn;
    the fastest is the one they disturbed least), else the first."""
    ok = [r for r in rows if not r.get("error") and r.get("wall_seconds") is not None]
    return min(ok, key=lambda r: r["wall_seconds"]) if ok else rows[0]


def whole_process_rate(short, long):
    """Seconds per epoch from two whole processes at two epoch counts."""
    if short.get("error") or long.get("error"):
        return None
    return (long["wall_seconds"] - short["wall_seconds"]) / (long["epochs"] - short["epochs"])


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(rows, headers, file=sys.stdout):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths)), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)), file=file)


def compare(args, work, results):
    tasks, backends = split(args.tasks), split(args.backends)
    e1, e2 = (int(e) for e in split(args.epochs))
    if e2 <= e1:
        sys.exit("run.py: --epochs needs two increasing counts, e.g. 1,3")
    skip = split(args.skip)
    go = Gosnn(work, args.timeout)
    # Filled in place, so that an interrupted run keeps what it measured.
    runs, summary = results.setdefault("runs", []), results.setdefault("summary", [])
    for task in tasks:
        if task not in TASKS:
            sys.exit(f"run.py: unknown task {task!r} (known: {', '.join(TASKS)})")
        sides = ([] if f"{task}@jaxsnn" in skip else ["jaxsnn"]) + [b for b in backends if f"{task}@{b}" not in skip]
        for side in sides:
            tried = {e1: [], e2: []}
            for rep in range(args.repeats):
                tag = f"-r{rep + 1}" if args.repeats > 1 else ""
                for e in (e1, e2):
                    if side == "jaxsnn":
                        r = run_jaxsnn(work, task, e, args.seed, args.jaxsnn_args.split(), args.timeout, tag=tag)
                    else:
                        r = go.train(task, side, e, args.seed, args.gosnn_args.split(), tag=tag)
                    r["repeat"] = rep + 1
                    runs.append(r)
                    tried[e].append(r)
            short, long = fastest(tried[e1]), fastest(tried[e2])
            s = {"task": task, "implementation": long["implementation"], "backend": long["backend"],
                 "epochs": [e1, e2], "seconds_per_epoch_whole_process": whole_process_rate(short, long),
                 "seconds_per_epoch_from_log": long.get("seconds_per_epoch_from_log"),
                 "test_accuracy": long.get("test_accuracy"), "error": long.get("error") or short.get("error"),
                 "wall_seconds": [short.get("wall_seconds"), long.get("wall_seconds")],
                 "wall_seconds_all_repeats": [[r.get("wall_seconds") for r in tried[e]] for e in (e1, e2)],
                 "load": [short.get("load_before"), long.get("load_after")]}
            if long["implementation"] == "gosnn":
                s["compile_seconds"] = long.get("compile_seconds")
                s["val_accuracy_per_epoch"] = long.get("val_accuracy_per_epoch")
            else:
                s["test_accuracy_per_epoch"] = long.get("test_accuracy_per_epoch")
                owns = [min((r["own_total_seconds"] for r in tried[e] if r.get("own_total_seconds")), default=None)
                        for e in (e1, e2)]
                if None not in owns:
                    s["seconds_per_epoch_own_total"] = (owns[1] - owns[0]) / (e2 - e1)
                # Its own epoch-1 duration: tracing and compiling the
                # training scan (plus its dispatch), not the computation.
                logged = long.get("jaxsnn_logged_epoch_seconds") or []
                s["compile_seconds"] = logged[0] if logged else None
            summary.append(s)
        base = next((s for s in summary if s["task"] == task and s["implementation"] == "jaxsnn"), None)
        for s in summary:
            if s["task"] != task or s["implementation"] != "gosnn" or not base:
                continue
            for k in ("seconds_per_epoch_whole_process", "seconds_per_epoch_from_log"):
                if s.get(k) and base.get(k):
                    s["ratio_" + k] = s[k] / base[k]
            if s.get("test_accuracy") is not None and base.get("test_accuracy") is not None:
                s["accuracy_minus_jaxsnn"] = s["test_accuracy"] - base["test_accuracy"]
    table = []
    for s in summary:
        if s.get("error"):
            table.append([s["task"], s["implementation"], s["backend"], "ERROR", "-", "-", "-", "-", "-", s["error"][:120]])
            continue
        jx = s["implementation"] == "jaxsnn"
        table.append([s["task"], s["implementation"], s["backend"],
                      fmt(s["seconds_per_epoch_whole_process"], ".2f"), fmt(s["seconds_per_epoch_from_log"], ".2f"),
                      "1" if jx else fmt(s.get("ratio_seconds_per_epoch_whole_process"), ".3f"),
                      "1" if jx else fmt(s.get("ratio_seconds_per_epoch_from_log"), ".3f"),
                      fmt(100 * s["test_accuracy"] if s.get("test_accuracy") is not None else None, ".1f"),
                      fmt(s.get("compile_seconds"), ".1f"), ""])
    headers = ["task", "implementation", "backend", "s/epoch (processes)", "s/epoch (logs)",
               "ratio (processes)", "ratio (logs)", f"test acc % after {e2}", "compile s", "error"]
    return table, headers


def plot_bars(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    # The in-process epoch times: a whole-process difference is only as good
    # as the load was steady between the two processes.
    key = "seconds_per_epoch_from_log"
    ok = [s for s in results.get("summary", []) if not s.get("error") and s.get(key)]
    if not ok:
        return False
    tasks = list(dict.fromkeys(s["task"] for s in ok))
    sides = list(dict.fromkeys(f"{s['implementation']} {s['backend']}" for s in ok))
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(sides)
    for j, side in enumerate(sides):
        xs, ys = [], []
        for i, t in enumerate(tasks):
            for s in ok:
                if s["task"] == t and f"{s['implementation']} {s['backend']}" == side:
                    xs.append(i + j * width)
                    ys.append(s[key])
        bars = ax.bar(xs, ys, width, label=side)
        for b, y in zip(bars, ys):
            ax.annotate(f"{y:.2f}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center",
                        va="bottom", fontsize=7)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(tasks))])
    ax.set_xticklabels(tasks, fontsize=8)
    ax.set_ylabel("seconds per epoch (from the logs)")
    ax.set_yscale("log")
    ax.set_title(f"Yin-Yang, jaxsnn 0.3.0 examples vs gosnn configs/jaxsnn_*.yaml ({platform.node()})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def throughput(args, work, results):
    tasks, backends, skip = split(args.tasks), split(args.backends), split(args.skip)
    go = Gosnn(work, args.timeout)
    runs = results.setdefault("runs", [])
    for b in (int(x) for x in split(args.batch_sizes)):
        for task in tasks:
            if f"{task}@jaxsnn" not in skip:
                r = run_jaxsnn(work, task, 2, args.seed, args.jaxsnn_args.split(), args.timeout, batch_size=b)
                # The samples of an epoch: train (whole batches) + test.
                n = TRAIN_SAMPLES // b * b + TEST_SAMPLES // b * b
                r["samples_per_second"] = n / r["seconds_per_epoch_from_log"] if r.get("seconds_per_epoch_from_log") else None
                runs.append(r)
            for backend in backends:
                if f"{task}@{backend}" in skip:
                    continue
                r = go.train(task, backend, 2, args.seed, args.gosnn_args.split(), batch_size=b)
                secs = r.get("epoch_seconds") or []
                r["samples_per_second"] = (TRAIN_SAMPLES + TEST_SAMPLES) / secs[-1] if len(secs) > 1 else None
                runs.append(r)
    table = [[r["task"], r["implementation"], r["backend"], r["batch_size"],
              "ERROR: " + r["error"][:100] if r.get("error") else fmt(r.get("samples_per_second"), ".0f")]
             for r in runs]
    return table, ["task", "implementation", "backend", "batch size", "samples/s"]


def plot_throughput(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    series = {}
    for r in results.get("runs", []):
        if r.get("samples_per_second"):
            series.setdefault(f"{r['implementation']} {r['task']} ({r['backend']})", []).append(
                (r["batch_size"], r["samples_per_second"]))
    if not series:
        return False
    fig, ax = plt.subplots(figsize=(9.5, 4.5))
    for name, pts in sorted(series.items()):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                linestyle="--" if name.startswith("jaxsnn") else "-", label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("samples per second (train + test pass)")
    ax.set_title(f"Yin-Yang throughput, jaxsnn 0.3.0 vs gosnn ({platform.node()})", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def versions():
    v = {}
    try:
        out = subprocess.run([JAXSNN_PYTHON, "-c", "import importlib.metadata as m; print(' '.join(p + '=' + "
                              "m.version(p) for p in ('jaxsnn', 'jax', 'jaxlib', 'optax', 'numpy')))"],
                             capture_output=True, text=True, timeout=60).stdout.split()
        v.update(dict(x.split("=", 1) for x in out))
    except Exception as e:  # the numbers matter more than the versions
        v["error"] = str(e)
    return v


def main(argv=None):
    args = parse_args(argv)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = os.path.abspath(args.out or os.path.join(REPO, "results", "bench-" + stamp))
    if os.path.exists(out):
        sys.exit(f"run.py: {out} exists already")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    work = tempfile.mkdtemp(prefix="." + os.path.basename(out) + ".", dir=os.path.dirname(out))
    os.makedirs(os.path.join(work, "logs"))
    started = dt.datetime.now().astimezone()
    status = "finished"
    results, table, headers = {}, [], []
    name = "throughput" if args.throughput else "bench"
    try:
        table, headers = (throughput if args.throughput else compare)(args, work, results)
    except KeyboardInterrupt:
        status = "interrupted"
    finally:
        doc = {
            "mode": name, "status": status, "started_at": started.isoformat(),
            "finished_at": dt.datetime.now().astimezone().isoformat(), "args": vars(args),
            "host": {"node": platform.node(), "machine": platform.machine(), "num_cpu": os.cpu_count(),
                     "python": platform.python_version(), "load_at_end": load()},
            "jaxsnn_versions": versions(),
            "notes": {
                "seconds_per_epoch_whole_process": "(wall(E2) - wall(E1)) / (E2 - E1) of whole processes",
                "seconds_per_epoch_from_log": "gosnn: mean of summary.json epoch seconds 2..N (train + "
                                              "validation pass); jaxsnn: mean interval between its 'Epoch i' "
                                              "log lines (train scan + test pass)",
                "load": "os.getloadavg() before the short and after the long process; the machine is shared",
            },
            "table": {"headers": headers, "rows": table}, **results,
        }
        with open(os.path.join(work, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
        try:
            plotted = (plot_throughput if args.throughput else plot_bars)(results, os.path.join(work, name + ".png"))
        except Exception as e:  # a missing plot must not lose the numbers
            print(f"[bench] plot failed: {e}", file=sys.stderr)
            plotted = False
        bin_path = os.path.join(work, "gosnn-bin")
        if os.path.exists(bin_path):
            os.remove(bin_path)
        final = out if status == "finished" else out + "-incomplete"
        os.chmod(work, 0o755)  # mkdtemp made it private
        os.rename(work, final)
    print_table(table, headers)
    print(f"results: {final}/{name}.json" + (f", {name}.png" if plotted else ""))
    return 0 if status == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
