"""Side-by-side Yin-Yang benchmark: gosnn (CLI) against jaxsnn (Python).

Run with the bench venv's Python (bash scripts/bench/setup.sh first):

    scripts/bench/.venv/bin/python scripts/bench/run.py --epochs 3
    scripts/bench/.venv/bin/python scripts/bench/run.py --throughput

Default mode: trains, one after the other on this machine, jaxsnn's
yinyang_analytical and yinyang_event_prop (scripts/bench/jaxsnn_yinyang.py)
and gosnn's methods (--methods) on each backend (--backends) for --epochs
epochs, prints a table and writes bench.json and bench.png.

--throughput: instead, for each batch size (--batch-sizes) one short run of
each side, and the training samples per second: gosnn 5000 / the seconds of
its last epoch (which include its validation pass over 1000 samples), jaxsnn
its compiled training pass only (train samples / seconds); throughput.json,
throughput.png.

Results go to --out (default <repo>/results/bench-<timestamp>, gitignored),
written in a hidden temporary folder next to it and renamed at the end
(-incomplete is appended when the run was cut short). See README.md.
"""
import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
JAXSNN_RUNNER = os.path.join(HERE, "jaxsnn_yinyang.py")
# The runner needs the bench venv (setup.sh), whichever Python runs this script.
VENV_PYTHON = os.path.join(HERE, ".venv", "bin", "python")
JAXSNN_PYTHON = VENV_PYTHON if os.path.exists(VENV_PYTHON) else sys.executable

# jaxsnn task each gosnn method is compared with (the ratio column).
PAIRS = {"ttfs": "analytical", "eventprop": "event_prop", "eventprop-recurrent": "event_prop"}
TASK_LABEL = {"analytical": "yinyang analytical/TTFS", "event_prop": "yinyang EventProp"}
JAXSNN_NAME = {"analytical": "yinyang_analytical", "event_prop": "yinyang_event_prop"}


def default_backends():
    backends = ["go"]
    for d in filter(None, os.environ.get("PJRT_PLUGIN_LIBRARY_PATH", "").split(os.pathsep)):
        if os.path.isfile(os.path.join(d, "pjrt_c_api_cpu_plugin.so")):
            backends.append("xla:cpu")
            break
    return ",".join(backends)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--methods", default="ttfs,eventprop,eventprop-recurrent",
                   help="gosnn --method values, comma separated (empty: none)")
    p.add_argument("--backends", default=default_backends(),
                   help="gosnn --backend values, comma separated")
    p.add_argument("--jaxsnn-tasks", default="analytical,event_prop",
                   help="jaxsnn tasks, comma separated (empty: none)")
    p.add_argument("--batch-size", type=int, default=64, help="both sides (jaxsnn's tasks: 64)")
    p.add_argument("--hidden", type=int, default=100, help="both sides (jaxsnn's tasks: 100)")
    p.add_argument("--seed", type=int, default=1, help="gosnn --seed")
    p.add_argument("--jaxsnn-seed", type=int, default=0, help="jaxsnn PRNGKey seed (tasks: 0)")
    p.add_argument("--gosnn-args", default="",
                   help="extra arguments for every gosnn train call, e.g. '--dtype float64'")
    p.add_argument("--jaxsnn-args", default="",
                   help="extra arguments for every jaxsnn_yinyang.py call, e.g. '--no-debug-nans'")
    p.add_argument("--skip", default="",
                   help="gosnn runs to leave out, comma separated METHOD@BACKEND, e.g. 'eventprop-recurrent@go'")
    p.add_argument("--throughput", action="store_true", help="batch-size sweep instead (see above)")
    p.add_argument("--batch-sizes", default="16,32,64,128,256,512,1024")
    p.add_argument("--throughput-epochs", type=int, default=1,
                   help="gosnn epochs per batch size in --throughput (the last one is timed; 2 leaves out compilation)")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per single run")
    p.add_argument("--out", default=None, help="results folder (default <repo>/results/bench-<timestamp>)")
    return p.parse_args(argv)


def split(s):
    return [x.strip() for x in s.split(",") if x.strip()]


def last_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip() and not l.startswith("INFO")]
    return lines[-1].strip() if lines else ""


def run_logged(cmd, log_path, timeout, env=None):
    """Runs cmd, stdout+stderr to log_path; returns (rc, log text, seconds)."""
    t0 = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        try:
            rc = subprocess.run(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                timeout=timeout, env=env).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    with open(log_path, encoding="utf-8", errors="replace") as log:
        text = log.read()
    return rc, text, time.perf_counter() - t0


class Gosnn:
    def __init__(self, work, timeout):
        self.work, self.timeout = work, timeout
        self.binary = os.path.join(work, "gosnn-bin")
        self.build_error = None
        self.has_method_flag = False
        rc, text, _ = run_logged(["go", "build", "-o", self.binary, "./cmd/gosnn"],
                                 os.path.join(work, "logs", "go-build.log"), timeout)
        if rc != 0:
            self.build_error = f"go build ./cmd/gosnn failed ({rc}): {last_line(text)}"
            return
        h = subprocess.run([self.binary, "train", "-h"], capture_output=True, text=True, cwd=REPO)
        self.has_method_flag = "-method" in (h.stdout + h.stderr)

    def train(self, label, method, backend, epochs, batch_size, hidden, seed, extra):
        row = {"implementation": "gosnn", "method": method, "backend": backend, "epochs": epochs,
               "batch_size": batch_size, "hidden": hidden, "seed": seed}
        if self.build_error:
            return {**row, "error": self.build_error}
        out = os.path.join(self.work, "gosnn", label)
        os.makedirs(out)
        cmd = [self.binary, "train", "yinyang"]
        if self.has_method_flag:
            cmd += ["--method", method]
        elif method != "ttfs":
            return {**row, "error": "this gosnn CLI has no --method flag (only ttfs)"}
        cmd += ["--epochs", str(epochs), "--batch-size", str(batch_size), "--hidden", str(hidden),
                "--seed", str(seed), "--quiet", "--out", out, "--backend", backend] + extra
        row["command"] = "go run ./cmd/gosnn " + " ".join(cmd[1:])
        print(f"[bench] gosnn {method} on {backend} ...", file=sys.stderr, flush=True)
        rc, text, wall = run_logged(cmd, os.path.join(self.work, "logs", label + ".log"), self.timeout)
        row["wall_seconds"] = wall
        row["log"] = os.path.join("logs", label + ".log")
        subdirs = [d for d in os.listdir(out) if os.path.isdir(os.path.join(out, d))]
        summary_path = os.path.join(out, subdirs[0], "summary.json") if len(subdirs) == 1 else None
        if rc != 0 or not summary_path or not os.path.isfile(summary_path):
            why = last_line(text) or f"exit {rc}"
            if rc == 0:
                why = f"no single run folder with summary.json in --out ({len(subdirs)} folders)"
            return {**row, "error": f"gosnn exited {rc}: {why}"}
        with open(summary_path, encoding="utf-8") as f:
            s = json.load(f)
        hist = [h.get("seconds", 0.0) for h in s.get("history") or []]
        row.update({
            "run_folder": os.path.relpath(os.path.join(out, subdirs[0]), self.work),
            "backend": s.get("backend", backend),
            "status": s.get("status"),
            "test_accuracy": s.get("test_accuracy"),
            "seconds_per_epoch_summary": s.get("seconds_per_epoch"),
            "first_epoch_seconds": hist[0] if hist else None,
            "epoch_seconds": hist,
            "total_seconds": s.get("total_seconds"),
            "versions": s.get("versions"),
        })
        # Steady state: later epochs; the first one includes compilation.
        if len(hist) > 1:
            row["seconds_per_epoch"] = sum(hist[1:]) / len(hist[1:])
            row["includes_first_epoch"] = False
        else:
            row["seconds_per_epoch"] = s.get("seconds_per_epoch")
            row["includes_first_epoch"] = True
        row["last_epoch_seconds"] = hist[-1] if hist else None
        return row


def run_jaxsnn(work, label, task, epochs, batch_size, hidden, seed, extra, timeout):
    row = {"implementation": "jaxsnn", "method": JAXSNN_NAME[task], "task_key": task, "epochs": epochs,
           "batch_size": batch_size, "hidden": hidden, "seed": seed, "backend": "jax:cpu"}
    out_json = os.path.join(work, "jaxsnn", label + ".json")
    os.makedirs(os.path.dirname(out_json), exist_ok=True)
    cmd = [JAXSNN_PYTHON, JAXSNN_RUNNER, "--task", task, "--epochs", str(epochs),
           "--batch-size", str(batch_size), "--hidden", str(hidden), "--seed", str(seed),
           "--json", out_json] + extra
    row["command"] = "python scripts/bench/jaxsnn_yinyang.py " + " ".join(cmd[2:])
    print(f"[bench] jaxsnn {JAXSNN_NAME[task]} ...", file=sys.stderr, flush=True)
    env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))
    rc, text, wall = run_logged(cmd, os.path.join(work, "logs", label + ".log"), timeout, env=env)
    row["wall_seconds"] = wall
    row["log"] = os.path.join("logs", label + ".log")
    if rc != 0 or not os.path.isfile(out_json):
        return {**row, "error": f"jaxsnn exited {rc}: {last_line(text) or 'no output'}"}
    with open(out_json, encoding="utf-8") as f:
        r = json.load(f)
    row.update({k: r.get(k) for k in (
        "backend", "test_accuracy", "max_test_accuracy", "seconds_per_epoch", "train_seconds_per_epoch",
        "eval_seconds_per_epoch", "compile_seconds", "first_epoch_seconds", "train_samples",
        "test_samples", "train_samples_per_second", "total_seconds", "versions", "debug_nans")})
    row["epoch_seconds"] = [h["seconds"] for h in r.get("history", [])]
    row["includes_first_epoch"] = False
    row["result_json"] = os.path.relpath(out_json, work)
    return row


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_table(rows, headers, file=sys.stdout):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths))
    print(line, file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)), file=file)


def compare(args, work):
    methods, backends, tasks = split(args.methods), split(args.backends), split(args.jaxsnn_tasks)
    for t in tasks:
        if t not in JAXSNN_NAME:
            sys.exit(f"run.py: unknown jaxsnn task {t!r} (known: {', '.join(JAXSNN_NAME)})")
    results = []
    jx = {}
    for task in tasks:
        r = run_jaxsnn(work, f"jaxsnn-{task}", task, args.epochs, args.batch_size, args.hidden,
                       args.jaxsnn_seed, args.jaxsnn_args.split(), args.timeout)
        r["task"] = TASK_LABEL[task]
        jx[task] = r
        results.append(r)
    if methods:
        go = Gosnn(work, args.timeout)
        for backend in backends:
            for method in methods:
                if f"{method}@{backend}" in split(args.skip):
                    continue
                label = f"gosnn-{method}-{backend.replace(':', '_')}"
                r = go.train(label, method, backend, args.epochs, args.batch_size, args.hidden,
                             args.seed, args.gosnn_args.split())
                pair = PAIRS.get(method)
                r["task"] = TASK_LABEL.get(pair, "yinyang " + method)
                base = jx.get(pair)
                if base and not base.get("error") and not r.get("error") and base.get("seconds_per_epoch"):
                    r["ratio_vs_jaxsnn"] = r["seconds_per_epoch"] / base["seconds_per_epoch"]
                    r["compared_with"] = JAXSNN_NAME[pair]
                results.append(r)
    # Sort: by task, jaxsnn first.
    order = {TASK_LABEL["analytical"]: 0, TASK_LABEL["event_prop"]: 1}
    results.sort(key=lambda r: (order.get(r["task"], 2), r["implementation"] != "jaxsnn"))
    table = []
    for r in results:
        if r.get("error"):
            table.append([r["task"], f"{r['implementation']} {r['method']}", r["backend"],
                          "ERROR", "-", "-", "-", r["error"][:160]])
            continue
        spe = fmt(r.get("seconds_per_epoch"), ".2f") + ("*" if r.get("includes_first_epoch") else "")
        first = (r.get("compile_seconds") or 0) + (r.get("first_epoch_seconds") or 0) \
            if r["implementation"] == "jaxsnn" else r.get("first_epoch_seconds")
        ratio = "1.00" if r["implementation"] == "jaxsnn" else fmt(r.get("ratio_vs_jaxsnn"), ".2f")
        acc = fmt(100 * r["test_accuracy"] if r.get("test_accuracy") is not None else None, ".1f")
        table.append([r["task"], f"{r['implementation']} {r['method']}", r["backend"], spe,
                      fmt(first, ".2f"), ratio, acc, ""])
    headers = ["task", "implementation", "backend", "s/epoch", "1st epoch+compile s",
               "gosnn/jaxsnn", "test acc %", "error"]
    return results, table, headers


def plot_bars(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ok = [r for r in results if not r.get("error") and r.get("seconds_per_epoch")]
    if not ok:
        return False
    labels = [f"{r['implementation']}\n{r['method']}\n{r['backend']}" for r in ok]
    colors = ["tab:orange" if r["implementation"] == "jaxsnn" else "tab:blue" for r in ok]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(ok)), 4.5))
    bars = ax.bar(range(len(ok)), [r["seconds_per_epoch"] for r in ok], color=colors)
    for b, r in zip(bars, ok):
        ax.annotate(f"{r['seconds_per_epoch']:.2f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(ok)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("seconds per epoch")
    ax.set_title(f"Yin-Yang, batch {ok[0]['batch_size']}, hidden {ok[0]['hidden']}, "
                 f"{ok[0]['epochs']} epoch(s) ({platform.node()})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def throughput(args, work):
    methods, backends, tasks = split(args.methods), split(args.backends), split(args.jaxsnn_tasks)
    sizes = [int(b) for b in split(args.batch_sizes)]
    results = []
    go = Gosnn(work, args.timeout) if methods else None
    for b in sizes:
        for task in tasks:
            r = run_jaxsnn(work, f"jaxsnn-{task}-b{b}", task, 1, b, args.hidden, args.jaxsnn_seed,
                           args.jaxsnn_args.split(), args.timeout)
            r["samples_per_second"] = r.get("train_samples_per_second")
            results.append(r)
        for backend in backends:
            for method in methods:
                if f"{method}@{backend}" in split(args.skip):
                    continue
                r = go.train(f"gosnn-{method}-{backend.replace(':', '_')}-b{b}", method, backend,
                             args.throughput_epochs, b, args.hidden, args.seed, args.gosnn_args.split())
                if not r.get("error") and r.get("last_epoch_seconds"):
                    r["samples_per_second"] = 5000 / r["last_epoch_seconds"]
                results.append(r)
    table = []
    for r in results:
        sps = "ERROR: " + r["error"][:120] if r.get("error") else fmt(r.get("samples_per_second"), ".0f")
        table.append([r["implementation"] + " " + r["method"], r["backend"], r["batch_size"], sps])
    return results, table, ["implementation", "backend", "batch size", "samples/s"]


def plot_throughput(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    series = {}
    for r in results:
        if r.get("samples_per_second"):
            series.setdefault(f"{r['implementation']} {r['method']} ({r['backend']})", []).append(
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
    ax.set_ylabel("training samples per second")
    ax.set_title(f"Yin-Yang training throughput ({platform.node()})", fontsize=9)
    # Outside the axes: inside, it hid the curves' points.
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


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
    results, table, headers = [], [], []
    try:
        if args.throughput:
            results, table, headers = throughput(args, work)
        else:
            results, table, headers = compare(args, work)
    except KeyboardInterrupt:
        status = "interrupted"
    finally:
        name = "throughput" if args.throughput else "bench"
        doc = {
            "mode": name, "status": status, "started_at": started.isoformat(),
            "finished_at": dt.datetime.now().astimezone().isoformat(),
            "args": vars(args), "host": {"node": platform.node(), "machine": platform.machine(),
                                         "num_cpu": os.cpu_count(), "python": platform.python_version()},
            "gosnn_seconds_per_epoch": "mean over epochs 2..N of summary.json history (epoch 1 includes "
                                       "compilation); with one epoch, summary seconds_per_epoch (marked *)",
            "jaxsnn_seconds_per_epoch": "compiled training pass + test evaluation; compile_seconds separate",
            "table": {"headers": headers, "rows": table}, "results": results,
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
    if not args.throughput:
        print("s/epoch: jaxsnn = compiled train pass + test eval (compile excluded); gosnn = mean of epochs 2..N,"
              " * = single epoch incl. compilation and validation pass")
    print(f"results: {final}/{name}.json" + (f", {name}.png" if plotted else ""))
    return 0 if status == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())
