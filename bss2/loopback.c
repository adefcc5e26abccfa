//go:build bss2loopback

/* loopback.c: a tiny emulator behind gosnn_bss2.h, so that the cgo
 * marshalling of chip_cgo.go is tested without the vendor stack
 * (go test -tags bss2loopback ./bss2/...). Its "neurons" are not LIF: an
 * on-chip neuron spikes once, at the earliest (input cycle + weight) over
 * its excitatory synapses from external sources that spiked, if that is
 * within the run time; so weights and spike times can be read back. A run
 * emulates the chip's wall time (runtime cycles at 125 MHz per sample) and
 * fails when that exceeds timeout_ms. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gosnn_bss2.h"

static int64_t live; /* allocations handed out and not freed */

int64_t gosnn_bss2_loopback_live(void) { return __atomic_load_n(&live, __ATOMIC_SEQ_CST); }

static void *counted_malloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (p) __atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
  return p;
}

static void counted_free(void *p) {
  if (p) {
    __atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
    free(p);
  }
}

static char *message(const char *fmt, long a, long b) {
  char *s = counted_malloc(256);
  if (s) snprintf(s, 256, fmt, a, b);
  return s;
}

struct gosnn_bss2_chip {
  int32_t num_neurons, num_sources;
  int64_t num_synapses;
  int32_t *pre, *post;
  int8_t *weight;
  int configured;
};

int gosnn_bss2_open(const char *calix_file, gosnn_bss2_chip **chip, char **err) {
  FILE *f = fopen(calix_file, "rb");
  if (!f) {
    char *s = counted_malloc(512);
    if (s) snprintf(s, 512, "loopback: cannot open the calibration %s", calix_file);
    *err = s;
    return 1;
  }
  fclose(f);
  *chip = counted_malloc(sizeof(gosnn_bss2_chip));
  memset(*chip, 0, sizeof(gosnn_bss2_chip));
  return 0;
}

static void clear(gosnn_bss2_chip *c) {
  counted_free(c->pre);
  counted_free(c->post);
  counted_free(c->weight);
  c->pre = c->post = NULL;
  c->weight = NULL;
}

void gosnn_bss2_close(gosnn_bss2_chip *chip) {
  if (!chip) return;
  clear(chip);
  counted_free(chip);
}

int gosnn_bss2_configure(gosnn_bss2_chip *chip, int32_t num_neurons, const int32_t *hw_neuron, int32_t num_sources,
                         int64_t num_synapses, const int32_t *pre, const int32_t *post, const int8_t *weight,
                         char **err) {
  for (int32_t i = 0; i < num_neurons; i++) {
    if (hw_neuron[i] < 0 || hw_neuron[i] >= 512) {
      *err = message("loopback: hardware neuron %ld (entry %ld) is outside 0..511", hw_neuron[i], i);
      return 1;
    }
  }
  for (int64_t k = 0; k < num_synapses; k++) {
    if (weight[k] > 63 || weight[k] < -63) {
      *err = message("loopback: synapse %ld has weight %ld, beyond -63..63", (long)k, weight[k]);
      return 1;
    }
    if (pre[k] < 0 || pre[k] >= num_sources + num_neurons || post[k] < 0 || post[k] >= num_neurons) {
      *err = message("loopback: synapse %ld connects %ld, outside the network", (long)k, pre[k]);
      return 1;
    }
  }
  clear(chip);
  chip->num_neurons = num_neurons;
  chip->num_sources = num_sources;
  chip->num_synapses = num_synapses;
  chip->pre = counted_malloc(sizeof(int32_t) * num_synapses);
  chip->post = counted_malloc(sizeof(int32_t) * num_synapses);
  chip->weight = counted_malloc(num_synapses);
  memcpy(chip->pre, pre, sizeof(int32_t) * num_synapses);
  memcpy(chip->post, post, sizeof(int32_t) * num_synapses);
  memcpy(chip->weight, weight, num_synapses);
  chip->configured = 1;
  return 0;
}

int gosnn_bss2_run(gosnn_bss2_chip *chip, const gosnn_bss2_spikes *input, uint64_t runtime, int64_t timeout_ms,
                   gosnn_bss2_spikes *out, char **err) {
  if (!chip->configured) {
    *err = message("loopback: run before configure (%ld, %ld)", 0, 0);
    return 1;
  }
  double wall_ms = (double)input->batch * (double)runtime / 125e6 * 1e3;
  if (timeout_ms > 0 && wall_ms > (double)timeout_ms) {
    struct timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
    *err = message("loopback: run timed out after %ld ms (it needs %ld ms)", (long)timeout_ms, (long)wall_ms);
    return 1;
  }
  int32_t n = chip->num_neurons;
  uint64_t *first = counted_malloc(sizeof(uint64_t) * (n ? n : 1));
  int64_t cap = (int64_t)input->batch * n;
  out->batch = input->batch;
  out->offsets = counted_malloc(sizeof(int64_t) * (input->batch + 1));
  out->neuron = counted_malloc(sizeof(int32_t) * (cap ? cap : 1));
  out->cycles = counted_malloc(sizeof(uint64_t) * (cap ? cap : 1));
  int64_t count = 0;
  out->offsets[0] = 0;
  for (int32_t b = 0; b < input->batch; b++) {
    for (int32_t j = 0; j < n; j++) first[j] = UINT64_MAX;
    for (int64_t s = 0; s < chip->num_synapses; s++) {
      if (chip->pre[s] >= chip->num_sources || chip->weight[s] <= 0) continue;
      for (int64_t k = input->offsets[b]; k < input->offsets[b + 1]; k++) {
        if (input->neuron[k] != chip->pre[s]) continue;
        uint64_t t = input->cycles[k] + (uint64_t)chip->weight[s];
        if (t < first[chip->post[s]]) first[chip->post[s]] = t;
      }
    }
    for (int32_t j = 0; j < n; j++) {
      if (first[j] <= runtime) {
        out->neuron[count] = chip->num_sources + j;
        out->cycles[count] = first[j];
        count++;
      }
    }
    out->offsets[b + 1] = count;
  }
  counted_free(first);
  return 0;
}

void gosnn_bss2_free_spikes(gosnn_bss2_spikes *s) {
  counted_free(s->offsets);
  counted_free(s->neuron);
  counted_free(s->cycles);
  s->offsets = NULL;
  s->neuron = NULL;
  s->cycles = NULL;
}

void gosnn_bss2_free(void *p) { counted_free(p); }
