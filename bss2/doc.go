// Package bss2 runs spiking networks on the BrainScaleS-2 neuromorphic
// chip (Pehle et al. 2022, "The BrainScaleS-2 accelerated neuromorphic
// system with hybrid plasticity", Front. Neurosci. 16) or on its software
// twin, for training with the hardware in the loop: the forward pass runs
// on a Backend, the gradients come from the software network evaluated at
// the observed spike times (jaxsnn's scheme; event.LowerObserved, and
// train's "hardware" config section).
//
//   - Map places a topology.Network on the chip: hardware neurons, and an
//     excitatory and an inhibitory synapse row per presynaptic neuron and
//     hemisphere; it refuses what does not fit, naming the node and limit.
//   - Mock simulates the network's LIF neurons exactly, event by event in
//     float64, with the chip's artifacts, each switchable and seeded
//     (MockConfig): signed 6-bit weights w_hw = round(clip(58 w, -63, 63)),
//     FPGA-clock times, spike-time jitter, fixed per-neuron variation of
//     threshold and time constants, the membrane's dynamic range, the run
//     time per sample and the 1000x acceleration. With IdealMock it gives
//     event.Lower's spike times.
//   - Chip (build tag bss2) drives the vendor stack through the C shim in
//     bss2/shim; without the tag NewChip returns ErrNoChip.
//   - Calibration is the file of a calibrated operating point.
package bss2
