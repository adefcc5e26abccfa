"""Runs jaxsnn's event-based Yin-Yang tasks for N epochs and times them.

jaxsnn 0.1.0 (PyPI) ships the task files jaxsnn/event/tasks/yinyang_analytical.py
and yinyang_event_prop.py (the repository's src/pyjaxsnn/jaxsnn/event/tasks/ up
to commit 65d6374), but their train() hard-codes 50 epochs, writes plots and
times each epoch without waiting for the asynchronous result. This runner
rebuilds exactly the same set-up from jaxsnn's library API (imported from the
venv, nothing copied) and times it properly:

  task          network                                          gradient
  analytical    serial(LIF(100, 50 spikes), LIF(3, 53 spikes))   jax autodiff through
                                                                 the analytical TTFS root
  event_prop    serial(RecurrentEventPropLIF(layers=[100, 3],     EventProp adjoint
                53 spikes, wrap_only_step=False))                 (custom VJP)

Common (as in the task files): LIFParameters(v_reset=-1000, v_th=1.0) with
jaxsnn's defaults tau_syn=5e-3, tau_mem=1e-2; t_max = 4 tau_syn; Yin-Yang data
from jaxsnn.event.dataset.yinyang_dataset with good_params (mirror, bias spike
at 0, t_late = 2 tau_syn, targets 0.9/1.1 tau_syn); 5000 training samples as
int(5000/64)=78 batches of 64 (4992 samples), 3000 test samples as 46 batches
of 64 (2944); weights N(3.0, 1.6) (input->hidden) and N(0.5, 0.8)
(hidden->output); Adam with optax.exponential_decay(5e-3, n_train_batches,
0.99); gradients divided by tau_syn (jaxsnn.event.training.update); loss
mse_loss via loss_wrapper(..., tau_mem, ...) averaged over the batch;
accuracy argmin(target) == argmin(first output spike time). The training set
is not reshuffled between epochs (as in the tasks).

Timing: one epoch = jax.lax.scan of jaxsnn's update over all training batches
(what the tasks report as "time per epoch") plus the test-set evaluation
(loss_and_acc). Both are compiled ahead of time (jax.jit(...).lower().compile()),
so compile_seconds is reported on its own and every epoch is timed on
compiled code, each call waited for with block_until_ready.

    python jaxsnn_yinyang.py --task analytical --epochs 3 --json out.json
"""
import argparse
import json
import os
import sys
import time
from functools import partial
from importlib import metadata


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", choices=["analytical", "event_prop"], required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0, help="jax PRNGKey seed (tasks: 0)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--train-samples", type=int, default=5000)
    p.add_argument("--test-samples", type=int, default=3000)
    p.add_argument("--n-spikes-hidden", type=int, default=50)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--lr-decay", type=float, default=0.99)
    p.add_argument("--tau-syn", type=float, default=5e-3)
    p.add_argument("--tau-mem", type=float, default=1e-2)
    p.add_argument("--no-debug-nans", action="store_true",
                   help="turn off jax_debug_nans, which importing jaxsnn turns on")
    p.add_argument("--json", help="write the result here (else stdout only)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    t_start = time.perf_counter()

    import jax
    import jax.numpy as jnp
    import optax
    from jax import random

    import jaxsnn  # noqa: F401  (sets jax_debug_nans, like the tasks)
    from jaxsnn.base.params import LIFParameters
    from jaxsnn.event.compose import serial
    from jaxsnn.event.dataset import yinyang_dataset
    from jaxsnn.event.dataset.yinyang import good_params
    from jaxsnn.event.functional import batch_wrapper
    from jaxsnn.event.leaky_integrate_and_fire import LIF, RecurrentEventPropLIF
    from jaxsnn.event.loss import loss_and_acc, loss_wrapper, mse_loss
    from jaxsnn.event.training import update
    from jaxsnn.event.types import OptState

    if args.no_debug_nans:
        jax.config.update("jax_debug_nans", False)

    params = LIFParameters(
        tau_syn_inv=1.0 / args.tau_syn, tau_mem_inv=1.0 / args.tau_mem,
        v_reset=-1_000.0, v_th=1.0)
    n_train_batches = int(args.train_samples / args.batch_size)
    n_test_batches = int(args.test_samples / args.batch_size)
    if n_train_batches < 1 or n_test_batches < 1:
        sys.exit("jaxsnn_yinyang: batch size larger than the training or test set")
    t_max = 4.0 * params.tau_syn
    hidden_size, output_size = args.hidden, 3
    n_spikes_hidden = args.n_spikes_hidden
    n_spikes_output = n_spikes_hidden + 3

    rng = random.PRNGKey(args.seed)
    yinyang_params = good_params(params)
    param_rng, train_rng, test_rng = random.split(rng, 3)
    trainset = yinyang_dataset(train_rng, [n_train_batches, args.batch_size], **yinyang_params)
    testset = yinyang_dataset(test_rng, [n_test_batches, args.batch_size], **yinyang_params)

    weight_mean, weight_std = [3.0, 0.5], [1.6, 0.8]
    if args.task == "analytical":
        init_fn, apply_fn = serial(
            LIF(hidden_size, n_spikes=n_spikes_hidden, t_max=t_max, params=params,
                mean=weight_mean[0], std=weight_std[0]),
            LIF(output_size, n_spikes=n_spikes_output, t_max=t_max, params=params,
                mean=weight_mean[1], std=weight_std[1]),
        )
    else:
        init_fn, apply_fn = serial(
            RecurrentEventPropLIF(
                layers=[hidden_size, output_size], n_spikes=n_spikes_output,
                t_max=t_max, params=params, mean=weight_mean, std=weight_std,
                wrap_only_step=False))

    input_size = trainset[0].idx.shape[-1]
    weights = init_fn(param_rng, input_size)
    n_neurons = weights[0].input.shape[0] + hidden_size + output_size

    scheduler = optax.exponential_decay(args.lr, n_train_batches, args.lr_decay)
    optimizer = optax.adam(scheduler)
    opt_state = optimizer.init(weights)
    loss_fn = batch_wrapper(partial(
        loss_wrapper, apply_fn, mse_loss, params.tau_mem, n_neurons, output_size))
    update_fn = partial(update, optimizer, loss_fn, params)

    def train_epoch(state, data):
        state, (recording, _grad) = jax.lax.scan(update_fn, state, data)
        return state, jnp.mean(recording[0])

    def evaluate(w, data):
        res = loss_and_acc(loss_fn, w, data)
        return res[0], res[1]

    state = OptState(opt_state, weights)
    train_data, test_data = trainset[:2], testset[:2]
    t0 = time.perf_counter()
    train_c = jax.jit(train_epoch).lower(state, train_data).compile()
    eval_c = jax.jit(evaluate).lower(state.weights, test_data).compile()
    compile_seconds = time.perf_counter() - t0

    history = []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        state, train_loss = train_c(state, train_data)
        jax.block_until_ready((state, train_loss))
        t1 = time.perf_counter()
        test_loss, test_acc = eval_c(state.weights, test_data)
        jax.block_until_ready((test_loss, test_acc))
        t2 = time.perf_counter()
        m = {"epoch": epoch + 1, "train_loss": float(train_loss),
             "test_loss": float(test_loss), "test_accuracy": float(test_acc),
             "train_seconds": t1 - t0, "eval_seconds": t2 - t1, "seconds": t2 - t0}
        history.append(m)
        print(f"jaxsnn {args.task} epoch {epoch + 1}/{args.epochs}: "
              f"test acc {m['test_accuracy']:.3f} loss {m['test_loss']:.4f}, "
              f"train {m['train_seconds']:.2f} s + eval {m['eval_seconds']:.2f} s",
              file=sys.stderr, flush=True)

    n = max(len(history), 1)
    result = {
        "implementation": "jaxsnn",
        "task": args.task,
        "backend": "jax:" + jax.default_backend(),
        "versions": {name: metadata.version(name) for name in
                     ("jaxsnn", "jax", "jaxlib", "optax", "numpy")},
        "python": sys.version.split()[0],
        "num_cpu": os.cpu_count(),
        "debug_nans": bool(jax.config.jax_debug_nans),
        "epochs": args.epochs,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "hidden": hidden_size,
        "train_samples": n_train_batches * args.batch_size,
        "test_samples": n_test_batches * args.batch_size,
        "hyperparameters": {
            "tau_syn": params.tau_syn, "tau_mem": params.tau_mem, "v_th": 1.0,
            "v_reset": -1000.0, "t_max": t_max, "n_spikes": [input_size, n_spikes_hidden, n_spikes_output],
            "weight_mean": weight_mean, "weight_std": weight_std, "lr": args.lr,
            "lr_decay": args.lr_decay, "optimizer": "adam", "loss": "mse_loss", **yinyang_params},
        "compile_seconds": compile_seconds,
        "first_epoch_seconds": history[0]["seconds"] if history else None,
        "seconds_per_epoch": sum(m["seconds"] for m in history) / n,
        "train_seconds_per_epoch": sum(m["train_seconds"] for m in history) / n,
        "eval_seconds_per_epoch": sum(m["eval_seconds"] for m in history) / n,
        "train_samples_per_second": (n_train_batches * args.batch_size) /
                                    (sum(m["train_seconds"] for m in history) / n) if history else None,
        "test_accuracy": history[-1]["test_accuracy"] if history else None,
        "test_loss": history[-1]["test_loss"] if history else None,
        "max_test_accuracy": max((m["test_accuracy"] for m in history), default=None),
        "total_seconds": time.perf_counter() - t_start,
        "history": history,
    }
    text = json.dumps(result, indent=2)
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.replace(tmp, args.json)
    print(text)


if __name__ == "__main__":
    main()
