"""Writes event/testdata/jaxsnn_golden.json: golden values from jaxsnn's
event-based LIF layer (forward spikes, and the gradients of a first-spike-time
loss as jaxsnn's EventProp layer and its analytical TTFS layer compute them),
so that gosnn's Go tests need no Python.

    bash scripts/bench/setup.sh 0.1.0   # the pinned venv (jaxsnn 0.1.0, jax 0.4.23)
    scripts/bench/.venv-0.1.0/bin/python scripts/golden/jaxsnn_golden.py [--out PATH]

jaxsnn code used (jaxsnn 0.1.0 = the repository's src/pyjaxsnn/jaxsnn at the
time of commit 65d6374): jaxsnn.event.leaky_integrate_and_fire.LIF (forward:
exponential flow + analytical tau_mem = 2 tau_syn root, ttfs_solver; gradient:
jax autodiff through that root) and EventPropLIF (same forward; gradient: the
EventProp adjoint as a custom VJP), jaxsnn.event.loss.first_spike. Computed in
float64 (jax_enable_x64); jax_debug_nans (which importing jaxsnn turns on) is
turned off again, since jaxsnn's vmapped conds evaluate both branches.

Model (jaxsnn's, per neuron j of one layer, between events):
    dV_j/dt = (I_j - V_j) / tau_mem      (v_leak = 0)
    dI_j/dt = -I_j / tau_syn
An input spike of input i adds weights[i][j] to I_j (a jump of the current,
not of V). Neuron j spikes when V_j reaches v_th; then V_j := v_reset and I_j
is unchanged. v_reset = -1000 makes that one spike per neuron (as jaxsnn's
Yin-Yang tasks do); v_reset = 0 lets a neuron spike again. The layer simulates
exactly n_spikes events (input spikes and its own spikes, in time order) up to
t_max; events that do not happen before t_max are padding (id -1).

JSON fields (all numbers float64 unless said otherwise):
  generator            this script's repository path
  versions             {"jaxsnn", "jax", "jaxlib", "numpy", "python"}
  model                the equations above in words
  loss                 "L = sum_j loss_coefficients[j] * first_spike_times[j]"
  cases[]              one per parameter set:
    name               "reset_-1000" or "reset_0"
    params             {tau_syn, tau_mem, v_th, v_leak, v_reset, t_max,
                        n_spikes (int, events simulated), layer_start (int)}
    n_inputs, n_neurons  ints (5 and 4)
    weights            [n_inputs][n_neurons]: weights[i][j] from input i to neuron j
    loss_coefficients  [n_neurons]
    samples[]          one per input sample:
      input_times      [n_inputs] spike times, sorted ascending (as jaxsnn's queue needs)
      input_ids        [n_inputs] ints: the input neuron of each of those spikes
      events           jaxsnn's raw output of the layer, n_spikes entries in order:
        times          event time (t_max for padding)
        ids            int: input id 0..n_inputs-1 for a passed-through input
                       spike, layer_start + j for a spike of neuron j, -1 padding
        currents       I of the spiking neuron at its spike (0 for input events;
                       for padding whatever jaxsnn stored)
      spikes           the layer's own spikes only, in time order:
        times, neurons (int, 0..n_neurons-1)
      first_spike_times  [n_neurons]: first spike time of each neuron
                       (jaxsnn.event.loss.first_spike; Infinity = none, which the
                       chosen weights avoid)
      loss             L for this sample
      grad_eventprop   {"weights": [n_inputs][n_neurons] dL/dweights,
                        "input_times": [n_inputs] dL/dinput_times, in the order of
                        input_times} from EventPropLIF (custom VJP)
      grad_analytical  the same from LIF (jax.grad through the analytical root)
      grad_finite_difference  the same by central differences of L computed
                       with LIF's forward pass (step fd_step), as a check of both
    fd_step            the finite-difference step
"""
import argparse
import json
import math
import os
import sys
from importlib import metadata

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

N_INPUTS, N_NEURONS = 5, 4
TAU_SYN, TAU_MEM, V_TH, T_MAX = 1.0, 2.0, 1.0, 4.0
N_SPIKES = 20
FD_STEP = 1e-6
# weights[i][j]: input i -> neuron j. Neuron 3 gets one inhibitory input.
WEIGHTS = [
    [1.6, 0.9, 2.4, 1.1],
    [0.7, 2.2, 0.5, 1.8],
    [1.2, 0.4, 1.9, -0.6],
    [0.3, 1.5, 0.8, 2.6],
    [2.1, 1.0, 0.2, 1.3],
]
COEFFS = [1.0, -0.5, 2.0, 0.75]
# (input_times, input_ids), sorted by time; distinct times.
SAMPLES = [
    ([0.05, 0.3, 0.55, 0.9, 1.4], [4, 0, 2, 1, 3]),
    ([0.0, 0.2, 0.45, 1.1, 1.75], [1, 3, 0, 4, 2]),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "event", "testdata", "jaxsnn_golden.json"))
    args = ap.parse_args(argv)

    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import jaxsnn  # noqa: F401
    jax.config.update("jax_debug_nans", False)
    from jaxsnn.base.params import LIFParameters
    from jaxsnn.event.leaky_integrate_and_fire import LIF, EventPropLIF
    from jaxsnn.event.loss import first_spike
    from jaxsnn.event.types import EventPropSpike, WeightInput

    layer_start = N_INPUTS  # what jaxsnn.event.compose.serial passes to the first layer
    w0 = jnp.array(WEIGHTS, dtype=jnp.float64)
    coeffs = jnp.array(COEFFS, dtype=jnp.float64)

    cases = []
    for v_reset in (-1000.0, 0.0):
        params = LIFParameters(tau_syn_inv=1.0 / TAU_SYN, tau_mem_inv=1.0 / TAU_MEM,
                               v_leak=0.0, v_th=V_TH, v_reset=v_reset)
        # mean/std only matter for init_fn, which is not used.
        _, apply_lif = LIF(N_NEURONS, N_SPIKES, T_MAX, params)
        _, apply_ep = EventPropLIF(N_NEURONS, N_SPIKES, T_MAX, params)

        def make_input(times, ids):
            times = jnp.asarray(times, dtype=jnp.float64)
            return EventPropSpike(times, jnp.asarray(ids, dtype=jnp.int64), jnp.zeros_like(times))

        def loss_of(apply_fn, w, times, ids):
            out = apply_fn(layer_start, WeightInput(w), make_input(times, ids))
            t_first = first_spike(out, layer_start + N_NEURONS)[layer_start:]
            return jnp.sum(coeffs * t_first), (out, t_first)

        grad_fns = {
            name: jax.jit(jax.grad(lambda w, t, ids, f=f: loss_of(f, w, t, ids)[0], argnums=(0, 1)))
            for name, f in (("eventprop", apply_ep), ("analytical", apply_lif))
        }
        fwd = jax.jit(lambda w, t, ids: loss_of(apply_lif, w, t, ids))
        fwd_ep = jax.jit(lambda w, t, ids: loss_of(apply_ep, w, t, ids))

        samples = []
        for times, ids in SAMPLES:
            t = jnp.asarray(times, dtype=jnp.float64)
            idx = jnp.asarray(ids, dtype=jnp.int64)
            loss, (out, t_first) = fwd(w0, t, idx)
            loss_ep, (out_ep, _) = fwd_ep(w0, t, idx)
            if not (bool(jnp.all(out.time == out_ep.time)) and bool(jnp.all(out.idx == out_ep.idx))):
                sys.exit("jaxsnn_golden: LIF and EventPropLIF forward passes differ")
            if not bool(jnp.all(jnp.isfinite(t_first))):
                sys.exit(f"jaxsnn_golden: a neuron does not spike before t_max: {t_first}")
            grads = {}
            for name, g in grad_fns.items():
                gw, gt = g(w0, t, idx)
                grads[name] = {"weights": gw.tolist(), "input_times": gt.tolist()}
            # Central differences of the forward loss.
            fd_w = [[0.0] * N_NEURONS for _ in range(N_INPUTS)]
            for i in range(N_INPUTS):
                for j in range(N_NEURONS):
                    lp = fwd(w0.at[i, j].add(FD_STEP), t, idx)[0]
                    lm = fwd(w0.at[i, j].add(-FD_STEP), t, idx)[0]
                    fd_w[i][j] = float((lp - lm) / (2 * FD_STEP))
            fd_t = []
            for k in range(N_INPUTS):
                lp = fwd(w0, t.at[k].add(FD_STEP), idx)[0]
                lm = fwd(w0, t.at[k].add(-FD_STEP), idx)[0]
                fd_t.append(float((lp - lm) / (2 * FD_STEP)))
            own = [(float(tt), int(ii) - layer_start) for tt, ii in zip(out.time, out.idx) if int(ii) >= layer_start]
            samples.append({
                "input_times": [float(x) for x in times],
                "input_ids": [int(x) for x in ids],
                "events": {"times": out.time.tolist(), "ids": [int(x) for x in out.idx],
                           "currents": out.current.tolist()},
                "spikes": {"times": [s[0] for s in own], "neurons": [s[1] for s in own]},
                "first_spike_times": t_first.tolist(),
                "loss": float(loss),
                "grad_eventprop": grads["eventprop"],
                "grad_analytical": grads["analytical"],
                "grad_finite_difference": {"weights": fd_w, "input_times": fd_t},
            })
            report(f"v_reset={v_reset}", samples[-1])
        cases.append({
            "name": f"reset_{v_reset:g}",
            "params": {"tau_syn": TAU_SYN, "tau_mem": TAU_MEM, "v_th": V_TH, "v_leak": 0.0,
                       "v_reset": v_reset, "t_max": T_MAX, "n_spikes": N_SPIKES,
                       "layer_start": layer_start},
            "n_inputs": N_INPUTS, "n_neurons": N_NEURONS,
            "weights": WEIGHTS, "loss_coefficients": COEFFS,
            "samples": samples,
            "fd_step": FD_STEP,
        })

    doc = {
        "generator": "scripts/golden/jaxsnn_golden.py",
        "versions": {**{n: metadata.version(n) for n in ("jaxsnn", "jax", "jaxlib", "numpy")},
                     "python": sys.version.split()[0]},
        "model": "per neuron j: dV/dt = (I - V)/tau_mem, dI/dt = -I/tau_syn; input spike i adds "
                 "weights[i][j] to I_j; spike when V reaches v_th, then V := v_reset (I unchanged); "
                 "first-spike root analytical (tau_mem = 2 tau_syn); float64",
        "loss": "L = sum_j loss_coefficients[j] * first_spike_times[j], per sample",
        "cases": cases,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, allow_nan=True)
        f.write("\n")
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")


def report(label, s):
    def maxdiff(a, b):
        fa = [x for row in a["weights"] for x in row] + a["input_times"]
        fb = [x for row in b["weights"] for x in row] + b["input_times"]
        return max(abs(x - y) for x, y in zip(fa, fb))
    fd = s["grad_finite_difference"]
    print(f"{label} inputs {s['input_times']}: first spikes {[round(x, 6) for x in s['first_spike_times']]}, "
          f"{len(s['spikes']['times'])} own spikes, loss {s['loss']:.6f}; max |grad - fd|: "
          f"eventprop {maxdiff(s['grad_eventprop'], fd):.2e}, analytical {maxdiff(s['grad_analytical'], fd):.2e}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
