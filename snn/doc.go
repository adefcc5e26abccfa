// Package snn is the shared vocabulary of gosnn's spiking networks: the
// parameters of leaky integrate-and-fire (LIF) neurons, the padded spike
// list, input encodings and the losses and read-outs on output spike times.
//
// Units: times and time constants share one unit chosen by the user (the
// Yin-Yang task uses units of tau_syn); voltages are relative, with the
// leak potential at zero by default.
package snn
