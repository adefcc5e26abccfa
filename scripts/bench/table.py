"""Prints the Markdown table of a bench.json (run.py's output), as the
README's Benchmarks section shows it, so that no number is typed by hand:

    python3 scripts/bench/table.py results/bench-<timestamp>/bench.json
"""
import json
import sys

LABEL = {"analytical": "analytical (TTFS)", "layered_event_prop": "layered EventProp",
         "recurrent_event_prop": "recurrent EventProp", "discrete": "discrete (surrogate BPTT)"}


def fmt(v, spec, scale=1.0):
    return "-" if v is None else format(scale * v, spec)


def fmt_process(v, spec):
    """A whole-process difference is meaningless when it is not positive:
    the machine's load changed between the two processes."""
    if v is not None and v <= 0:
        return f"({format(v, spec)}: load changed)"
    return fmt(v, spec)


def main(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    rows = doc.get("summary", [])
    e2 = rows[0]["epochs"][1] if rows else "?"
    print(f"| task | run | backend | s/epoch (processes) | s/epoch (logs) | gosnn/jaxsnn (processes) "
          f"| gosnn/jaxsnn (logs) | test acc. after {e2} epochs | compile s |")
    print("|---|---|---|---|---|---|---|---|---|")
    last = None
    base_process = {s["task"]: s.get("seconds_per_epoch_whole_process") for s in rows if s["implementation"] == "jaxsnn"}
    for s in rows:
        task = LABEL.get(s["task"], s["task"]) if s["task"] != last else ""
        last = s["task"]
        jx = s["implementation"] == "jaxsnn"
        run = "jaxsnn 0.3.0 example" if jx else "gosnn config"
        if s.get("error"):
            print(f"| {task} | {run} | {s['backend']} | error: {s['error'][:80]} | | | | | |")
            continue
        print(f"| {task} | {run} | {s['backend']} | {fmt_process(s.get('seconds_per_epoch_whole_process'), '.2f')} "
              f"| {fmt(s.get('seconds_per_epoch_from_log'), '.2f')} "
              f"| {'1' if jx else (fmt(s.get('ratio_seconds_per_epoch_whole_process'), '.3f') if (s.get('seconds_per_epoch_whole_process') or 0) > 0 and (base_process.get(s['task']) or 0) > 0 else '-')} "
              f"| {'1' if jx else fmt(s.get('ratio_seconds_per_epoch_from_log'), '.3f')} "
              f"| {fmt(s.get('test_accuracy'), '.1f', 100)} % | {fmt(s.get('compile_seconds'), '.1f')} |")
    loads = [x for s in rows for l in (s.get("load") or []) if l for x in l[:1]]
    if loads:
        print(f"\n1-minute load average during the run: {min(loads):.1f} to {max(loads):.1f} "
              f"({doc['host']['num_cpu']} cores).")


if __name__ == "__main__":
    main(sys.argv[1])
