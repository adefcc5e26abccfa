#!/usr/bin/env bash
# Retrains the networks shipped under pretrained/ from the shipped configs,
# seed 1, and replaces them there:
#
#   pretrained/yin_yang_ttfs       gosnn train yinyang --seed 1
#   pretrained/yin_yang_eventprop  gosnn train yinyang --method eventprop --seed 1
#   pretrained/yin_yang_H30_WS     gosnn train yin_yang_H30_WS --seed 1
#
# Each keeps its config, metrics.csv, weights.json, summary.json and the
# final checkpoint only; summary.json's per-epoch history is dropped (the
# same rows are in metrics.csv and in the checkpoint's manifest, which
# `gosnn eval` draws its curves from), which keeps pretrained/ at a few
# hundred KB. `go test ./cmd/gosnn -run Pretrained` then checks that
# `gosnn inference` reproduces each recorded test accuracy.
#
# usage: scripts/pretrain.sh [BACKEND]   (default xla:cpu; needs jq)
set -euo pipefail
backend=${1:-xla:cpu}
cd "$(dirname "$0")/.."
command -v jq >/dev/null || { echo "pretrain.sh: needs jq" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/gosnn" ./cmd/gosnn

train() { # train NAME ARGS...: results of "gosnn train ARGS" -> pretrained/NAME
  local name=$1 run ckpts
  shift
  mkdir -p "$tmp/$name"
  "$tmp/gosnn" train "$@" --seed 1 --backend "$backend" --quiet --out "$tmp/$name"
  run=$(find "$tmp/$name" -mindepth 1 -maxdepth 1 -type d | head -n 1)
  [[ -f $run/summary.json ]] || { echo "pretrain.sh: $name: no summary.json in $run" >&2; exit 1; }
  # Keep the final checkpoint only (save_points keep earlier ones).
  mapfile -t ckpts < <(find "$run/checkpoints" -mindepth 1 -maxdepth 1 -type d -name 'epoch-*' | sort)
  for ((i = 0; i < ${#ckpts[@]} - 1; i++)); do rm -rf "${ckpts[i]}"; done
  jq 'del(.history)' "$run/summary.json" >"$tmp/summary.json"
  mv "$tmp/summary.json" "$run/summary.json"
  rm -rf "pretrained/$name"
  mv "$run" "pretrained/$name"
  echo "pretrained/$name: test accuracy $(jq .test_accuracy "pretrained/$name/summary.json")"
}

train yin_yang_ttfs yinyang
train yin_yang_eventprop yinyang --method eventprop
train yin_yang_H30_WS yin_yang_H30_WS
du -sh pretrained
