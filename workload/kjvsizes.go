package workload

import "fmt"

// KJVGPTSized returns a kjv-gpt variant of another size, for scaling-law
// runs: the same data, split and validation as kjv-gpt, a GPTConfig c
// (Vocab is set from the text) and batch size batch. Its name is
// kjv-gpt-d<Dim>-l<Layers>-c<Context>. The validation uses kjvValWindows
// windows of c.Context characters.
func KJVGPTSized(c GPTConfig, batch int) (*Workload, error) {
	if c.Context <= 0 || c.Dim <= 0 || c.Heads <= 0 || c.Layers <= 0 || c.FFN <= 0 || batch <= 0 || c.Dim%c.Heads != 0 {
		return nil, fmt.Errorf("kjv-gpt sized: config %+v with batch %d, want positive sizes and a width divisible by the heads", c, batch)
	}
	return &Workload{
		Name: fmt.Sprintf("kjv-gpt-d%d-l%d-c%d", c.Dim, c.Layers, c.Context),
		Description: fmt.Sprintf("character-level decoder-only transformer (%d layers, width %d, %d heads, context %d, MLP %d) on the King James Bible, for scaling-law sweeps",
			c.Layers, c.Dim, c.Heads, c.Context, c.FFN),
		Metric: Loss, Target: 2.0, StepHint: 1000, DefaultBatch: batch,
		DefaultOptimizer: "adamw", DefaultPeak: 2e-3, WeightDecay: 0.01, ClipNorm: 1, EvalEvery: 250,
		build: kjvBuild(c, kjvValWindows),
	}, nil
}
