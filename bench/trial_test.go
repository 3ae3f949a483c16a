package bench

import (
	"context"
	"testing"

	"github.com/lrkit/lrkit/workload/data"
)

// TestSharedSetsTrainTheSame: a trial that takes MNIST from a shared
// cache (a benchmark's workers) trains exactly as one that decodes it,
// and a second trial on the same cache sees unmodified data.
func TestSharedSetsTrainTheSame(t *testing.T) {
	if testing.Short() {
		t.Skip("trains")
	}
	tr := Trial{Key: "mlp", Workload: "mnist-mlp", Spec: "cosine(peak=0.003, steps=20)", Steps: 20,
		Seed: 3, Params: map[string]float64{"peak": 0.003}, Higher: true, EvalEvery: 10}
	ctx := context.Background()
	alone, err := RunTrial(ctx, tr, TrialOptions{Limit: 2000}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sets := data.NewSetCache()
	for run := 0; run < 2; run++ {
		shared, err := RunTrial(ctx, tr, TrialOptions{Limit: 2000, Sets: sets}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if shared.FinalMetric != alone.FinalMetric || len(shared.Early.Loss) != len(alone.Early.Loss) {
			t.Fatalf("run %d: final %v with the cache, %v without", run, shared.FinalMetric, alone.FinalMetric)
		}
		for i := range alone.Early.Loss {
			if shared.Early.Loss[i] != alone.Early.Loss[i] {
				t.Fatalf("run %d, step %d: loss %v with the cache, %v without", run, i, shared.Early.Loss[i], alone.Early.Loss[i])
			}
		}
	}
}
