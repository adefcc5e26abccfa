#!/bin/sh
# Artifact sweep of the mock chip (issue 16, measurement 2): trains
# configs/yin_yang_bss2.yaml with the mock in the loop for every jitter
# sigma (0, 1, 2, 5 % of tau_syn = 6 us) and weight resolution (4, 5, 6, 8
# bits, float), the other artifacts at jaxsnn's operating point, and writes
# one line per point to $OUT/sweep.tsv: jitter fraction, bits (0 = float),
# seed, epochs, final test accuracy.
# Usage: scripts/bss2sweep/sweep.sh GOSNN_BINARY OUT EPOCHS SEED
set -eu
bin=$1 out=$2 epochs=$3 seed=$4
mkdir -p "$out"
: > "$out/sweep.tsv"
for j in 0 0.01 0.02 0.05; do
  for b in 4 5 6 8 0; do
    js=$(awk "BEGIN{print $j*6e-6}")
    cfg="$out/cfg_j${j}_b${b}.yaml"
    sed -e "s/^    jitter_s: .*/    jitter_s: $js/" -e "s/^    weight_bits: .*/    weight_bits: $b/" \
      configs/yin_yang_bss2.yaml > "$cfg"
    acc=$(nice -n 10 "$bin" hw train "$cfg" --seed "$seed" --epochs "$epochs" --out "$out/runs" --quiet 2>&1 |
      tr '\r' '\n' | sed -n 's/^test accuracy: \([0-9.]*\)%.*/\1/p')
    printf '%s\t%s\t%s\t%s\t%s\n' "$j" "$b" "$seed" "$epochs" "$acc" | tee -a "$out/sweep.tsv"
  done
done
