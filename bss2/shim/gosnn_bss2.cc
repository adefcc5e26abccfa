// gosnn_bss2.cc: gosnn_bss2.h over grenade's classic network API
// (grenade::vx::network, as hxtorch and jaxsnn use it), for the grenade
// version of the vendor container it is built in. Untested: it can only be
// compiled and run inside that container (see the README, BrainScaleS-2).
// This file is the only place that knows the vendor API.
#include "gosnn_bss2.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "grenade/vx/execution/jit_graph_executor.h"
#include "grenade/vx/network/extract_output.h"
#include "grenade/vx/network/build_connection_routing.h"
#include "grenade/vx/network/network_builder.h"
#include "grenade/vx/network/network_graph_builder.h"
#include "grenade/vx/network/routing/portfolio_router.h"
#include "grenade/vx/network/run.h"
#include "grenade/vx/network/input_generator.h"
#include "halco/hicann-dls/vx/v3/chip.h"
#include "lola/vx/v3/chip.h"
#include "stadls/vx/v3/dumper.h"

namespace gv = grenade::vx;
namespace gn = grenade::vx::network;
namespace hc = halco::hicann_dls::vx::v3;

struct gosnn_bss2_chip {
  gv::execution::JITGraphExecutor executor; // opens the connections named by the environment
  lola::vx::v3::Chip config;
  std::unique_ptr<gn::NetworkGraph> graph;
  std::shared_ptr<gn::Network> network;
  gn::PopulationOnNetwork sources, neurons;
  std::vector<gn::ProjectionOnNetwork> projections;
  int32_t num_sources = 0;
  std::vector<int32_t> hw_neuron;
};

namespace {

char *copy_string(const std::string &s) {
  char *out = static_cast<char *>(std::malloc(s.size() + 1));
  if (out) std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

template <typename F> int guarded(char **err, F &&f) {
  try {
    f();
    return 0;
  } catch (const std::exception &e) {
    if (err) *err = copy_string(e.what());
  } catch (...) {
    if (err) *err = copy_string("unknown C++ exception in the BrainScaleS-2 stack");
  }
  return 1;
}

hc::AtomicNeuronOnDLS atomic_neuron(int32_t n) {
  // Logical numbering of gosnn's mapping: hemisphere n / 256, column n % 256.
  return hc::AtomicNeuronOnDLS(hc::NeuronColumnOnDLS(n % 256), hc::NeuronRowOnDLS(n / 256));
}

} // namespace

extern "C" int gosnn_bss2_open(const char *calix_file, gosnn_bss2_chip **chip, char **err) {
  return guarded(err, [&] {
    auto c = std::make_unique<gosnn_bss2_chip>();
    // calix's stored result: a cereal portable binary of a coco list,
    // converted to a chip configuration (as hxtorch does).
    c->config = stadls::vx::v3::convert_to_chip(stadls::vx::v3::from_portablebinary_file(calix_file));
    *chip = c.release();
  });
}

extern "C" void gosnn_bss2_close(gosnn_bss2_chip *chip) { delete chip; }

extern "C" int gosnn_bss2_configure(gosnn_bss2_chip *chip, int32_t num_neurons, const int32_t *hw_neuron,
                                    int32_t num_sources, int64_t num_synapses, const int32_t *pre,
                                    const int32_t *post, const int8_t *weight, char **err) {
  return guarded(err, [&] {
    gn::NetworkBuilder builder;
    gn::ExternalSourcePopulation sources(std::vector<gn::ExternalSourcePopulation::Neuron>(
        num_sources, gn::ExternalSourcePopulation::Neuron{}));
    auto src = builder.add(sources);
    std::vector<gn::Population::Neuron> ns;
    for (int32_t i = 0; i < num_neurons; i++) {
      ns.emplace_back(gn::Population::Neuron(
          atomic_neuron(hw_neuron[i]),
          gn::Population::Neuron::Compartments{{hc::CompartmentOnLogicalNeuron(),
                                               gn::Population::Neuron::Compartment{
                                                   gn::Population::Neuron::Compartment::SpikeMaster(0, true),
                                                   {{gn::Receptor(gn::Receptor::ID(), gn::Receptor::Type::excitatory),
                                                     gn::Receptor(gn::Receptor::ID(), gn::Receptor::Type::inhibitory)}}}}}));
    }
    auto pop = builder.add(gn::Population(std::move(ns)));
    // One projection per (source population, receptor type): weights are
    // unsigned, the sign is the receptor.
    std::map<std::pair<bool, bool>, gn::Projection::Connections> conns; // (from chip, inhibitory)
    for (int64_t k = 0; k < num_synapses; k++) {
      bool from_chip = pre[k] >= num_sources;
      int32_t index = from_chip ? pre[k] - num_sources : pre[k];
      bool inhibitory = weight[k] < 0;
      conns[{from_chip, inhibitory}].emplace_back(
          gn::Projection::Connection({static_cast<size_t>(index), hc::CompartmentOnLogicalNeuron()},
                                     {static_cast<size_t>(post[k]), hc::CompartmentOnLogicalNeuron()},
                                     gn::Projection::Connection::Weight(std::abs(weight[k]))));
    }
    chip->projections.clear();
    for (auto &[key, c] : conns) {
      auto type = key.second ? gn::Receptor::Type::inhibitory : gn::Receptor::Type::excitatory;
      chip->projections.push_back(builder.add(
          gn::Projection(gn::Receptor(gn::Receptor::ID(), type), std::move(c), key.first ? pop : src, pop)));
    }
    auto network = builder.done();
    if (chip->graph && !gn::requires_routing(network, *chip->graph)) {
      gn::update_network_graph(*chip->graph, network);
    } else {
      auto routing = gn::routing::PortfolioRouter()(network);
      chip->graph = std::make_unique<gn::NetworkGraph>(gn::build_network_graph(network, routing));
    }
    chip->network = network;
    chip->sources = src;
    chip->neurons = pop;
    chip->num_sources = num_sources;
    chip->hw_neuron.assign(hw_neuron, hw_neuron + num_neurons);
  });
}

extern "C" int gosnn_bss2_run(gosnn_bss2_chip *chip, const gosnn_bss2_spikes *input, uint64_t runtime,
                              int64_t timeout_ms, gosnn_bss2_spikes *out, char **err) {
  return guarded(err, [&] {
    if (!chip->graph) throw std::runtime_error("gosnn_bss2_run before gosnn_bss2_configure");
    gn::InputGenerator gen(*chip->graph, input->batch);
    std::vector<std::vector<std::vector<gv::common::Time>>> times(
        input->batch, std::vector<std::vector<gv::common::Time>>(chip->num_sources));
    for (int32_t b = 0; b < input->batch; b++)
      for (int64_t k = input->offsets[b]; k < input->offsets[b + 1]; k++)
        times[b].at(input->neuron[k]).push_back(gv::common::Time(input->cycles[k]));
    gen.add(times, chip->sources);
    auto data = gen.done();
    data.runtime = std::vector<std::map<gv::signal_flow::ExecutionInstance, gv::common::Time>>(
        input->batch, {{gv::signal_flow::ExecutionInstance(), gv::common::Time(runtime)}});
    (void)timeout_ms; // the executor's own timeouts apply; see README
    auto result = gn::run(chip->executor, chip->config, *chip->graph, data);
    auto spikes = gn::extract_neuron_spikes(result, *chip->graph);
    std::map<int32_t, int32_t> index; // hardware neuron -> position
    for (size_t i = 0; i < chip->hw_neuron.size(); i++) index[chip->hw_neuron[i]] = static_cast<int32_t>(i);
    std::vector<int64_t> offsets{0};
    std::vector<int32_t> ids;
    std::vector<uint64_t> cycles;
    for (auto const &sample : spikes) {
      for (auto const &[key, ts] : sample) {
        auto const &[neuron_on_dls, compartment] = key;
        int32_t n = static_cast<int32_t>(neuron_on_dls.toNeuronRowOnDLS()) * 256 +
                    static_cast<int32_t>(neuron_on_dls.toNeuronColumnOnDLS());
        auto it = index.find(n);
        if (it == index.end()) continue;
        for (auto t : ts) {
          ids.push_back(chip->num_sources + it->second);
          cycles.push_back(static_cast<uint64_t>(t.value()));
        }
      }
      offsets.push_back(static_cast<int64_t>(ids.size()));
    }
    out->batch = input->batch;
    out->offsets = static_cast<int64_t *>(std::malloc(sizeof(int64_t) * offsets.size()));
    out->neuron = static_cast<int32_t *>(std::malloc(sizeof(int32_t) * std::max<size_t>(1, ids.size())));
    out->cycles = static_cast<uint64_t *>(std::malloc(sizeof(uint64_t) * std::max<size_t>(1, cycles.size())));
    if (!out->offsets || !out->neuron || !out->cycles) throw std::bad_alloc();
    std::memcpy(out->offsets, offsets.data(), sizeof(int64_t) * offsets.size());
    std::memcpy(out->neuron, ids.data(), sizeof(int32_t) * ids.size());
    std::memcpy(out->cycles, cycles.data(), sizeof(uint64_t) * cycles.size());
  });
}

extern "C" void gosnn_bss2_free_spikes(gosnn_bss2_spikes *s) {
  std::free(s->offsets);
  std::free(s->neuron);
  std::free(s->cycles);
  s->offsets = nullptr;
  s->neuron = nullptr;
  s->cycles = nullptr;
}

extern "C" void gosnn_bss2_free(void *p) { std::free(p); }
