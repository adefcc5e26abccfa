// Package discrete holds discrete-time spiking networks: Euler-step LIF
// and leaky-integrator (LI) neurons trained with surrogate gradients and
// back-propagation through time, as in jaxsnn.discrete, norse, snnax and
// graphcore_snn.
//
// The pieces, from the math up:
//   - LIFStep and LIStep: pure step functions (state, input current,
//     parameters) -> (state, output) with the state passed explicitly;
//   - Surrogate: spike functions, Heaviside forward and SuperSpike (fast
//     sigmoid), arctan, triangle or sigmoid derivatives backward;
//   - LIF, LI, Dense and Func: thin layers over them and over GoMLX's
//     layers (dense, convolution, pooling, flatten, dropout, layer
//     normalisation), whose variables live in context scopes;
//   - Sequential: layers chained and unrolled over T time steps (snnax's
//     snn.Sequential), returning every layer's outputs over time;
//   - read-outs and losses: max-over-time log-softmax with NLL (jaxsnn),
//     spike-count and mean-membrane cross-entropy, and the firing-rate
//     regulariser;
//   - SpatioTemporalEncode: jaxsnn's input code, one spike per value at a
//     step proportional to it;
//   - CompactSpikes and SparseMatMul: graphcore_snn's sparse propagation,
//     which keeps at most k spikes per sample and step as indices and sums
//     gathered weight rows, with the dense path's results and gradients.
//
// Matrix products use graph.MatMulFastGrad, whose gradient is two matrix
// products (GoMLX's own dot gradient is 10-30x slower), and Sequential puts
// a fusion barrier between steps on XLA (an unrolled element-wise chain is
// otherwise recomputed by every consumer).
//
// The neuron (DESIGN.md, jaxsnn's lif_step), with decays α = 1 - dt/tau_mem
// and β = 1 - dt/tau_syn:
//
//	v[t+1] = v[t] + dt/tau_mem (v_leak - v[t] + i[t])
//	i[t+1] = i[t] - dt/tau_syn i[t] + W s_in[t]
//	s[t+1] = H(v[t+1] - v_th),  then reset by subtraction or to v_reset.
package discrete
