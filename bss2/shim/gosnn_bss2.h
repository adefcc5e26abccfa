/* gosnn_bss2.h: the C interface between gosnn (cgo, bss2/chip_cgo.go) and
 * the BrainScaleS-2 vendor stack (grenade, hxcomm, stadls), implemented in
 * gosnn_bss2.cc. Opaque handles and flat arrays only; every C++ exception is
 * caught inside the shim and returned as an error string that the caller
 * frees with gosnn_bss2_free(). Times are FPGA clock cycles (125 MHz).
 * Functions return 0 on success, non-zero on error (then *err is set). */
#ifndef GOSNN_BSS2_H
#define GOSNN_BSS2_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gosnn_bss2_chip gosnn_bss2_chip;

/* Opens the connection chosen by the environment (hxcomm: zero mock with
 * HXCOMM_ENABLE_ZERO_MOCK=1, the quiggeldy scheduler, or the Slurm FPGA
 * links) and applies the calibration stored in calix_file (a
 * *_cocolist.pbin). One chip per process: connecting is slow. */
int gosnn_bss2_open(const char *calix_file, gosnn_bss2_chip **chip, char **err);
void gosnn_bss2_close(gosnn_bss2_chip *chip);

/* Configures the network: num_neurons on-chip neurons (their logical
 * hardware numbers 0..511 in hw_neuron), num_sources external sources,
 * and num_synapses synapses, synapse k from pre[k] (0..num_sources-1: an
 * external source; num_sources + n: on-chip neuron hw_neuron[n]) to
 * on-chip neuron post[k] (an index into hw_neuron) with the signed weight
 * weight[k] in -63..63 (negative: an inhibitory row). Calling it again with
 * the same topology only rewrites the weights (update_network_graph). */
int gosnn_bss2_configure(gosnn_bss2_chip *chip, int32_t num_neurons, const int32_t *hw_neuron,
                         int32_t num_sources, int64_t num_synapses, const int32_t *pre,
                         const int32_t *post, const int8_t *weight, char **err);

/* Spikes of a batch: sample b's spikes are entries offsets[b] ..
 * offsets[b+1]-1 of neuron (a source or on-chip neuron index as in
 * configure's pre) and cycles. */
typedef struct {
  int32_t batch;
  int64_t *offsets; /* batch + 1 entries */
  int32_t *neuron;
  uint64_t *cycles;
} gosnn_bss2_spikes;

/* Runs a batch: input spikes (external sources only) for runtime cycles per
 * sample; out receives the on-chip neurons' spikes (allocated by the shim,
 * released with gosnn_bss2_free_spikes). timeout_ms > 0 bounds the wall
 * time of the run. */
int gosnn_bss2_run(gosnn_bss2_chip *chip, const gosnn_bss2_spikes *input, uint64_t runtime,
                   int64_t timeout_ms, gosnn_bss2_spikes *out, char **err);

void gosnn_bss2_free_spikes(gosnn_bss2_spikes *s);
void gosnn_bss2_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
