// Package fed is federated training on lrkit's engine: a server that
// aggregates client updates (FedAvg, FedAsync-style staleness weighting,
// FedBuff-style buffers, FedCompass's computing-power-aware groups),
// FedHyper's learning-rate rules (G, GM, SL, CL, FULL), clients that train
// a model on their Dirichlet label shard of MNIST or Fashion-MNIST with a
// train.Trainer, and simulated device heterogeneity in virtual time.
//
// # Virtual time
//
// Each client has a mean time per local step drawn from a stated
// distribution (Speeds); a round of Q steps takes Q times that, with a
// per-round jitter drawn from the run's seed. Run processes arrivals in
// order of virtual time, so a run's results depend only on its
// configuration: not on this machine's load, nor on where the clients'
// computation happens. The computation of a round is a Task, which carries
// everything it depends on (the global model, the data position, the
// rate), so it can run in this process (Local, the default) or in client
// processes on other machines over a NATS JetStream queue (NATS, Serve;
// `lrkit fed client`) with bit-identical results.
//
// # Aggregation
//
// FedAvg waits for every client of a round and averages their updates
// with weights p_i (the share of examples, or 1/N). The asynchronous
// algorithms move the global model by α·s(τ)·p_i·Δ_i for an update Δ_i
// computed from a model τ versions old (Staleness s); FedAsync does so at
// every arrival, FedBuff once K updates have been summed, FedCompass for a
// group of clients whose local steps the Compass scheduler chose so that
// they arrive together. FedHyper's rules act on FedAvg's rounds.
//
// # Studies
//
// A Study (YAML; ParseStudy) compares the methods on the papers' terms:
// each method's client rate is chosen on selection seeds, results come
// from fresh evaluation seeds, and BuildReport tests the papers' claims
// with 95% intervals. RunStudy is resumable; RunFile is `lrkit fed run`.
package fed
