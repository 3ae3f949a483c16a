package fed

import (
	"context"
	"testing"
)

// benchEnv builds a small MNIST environment, skipping when MNIST is not
// installed.
func benchEnv(b testing.TB, model string, batch int) *Env {
	b.Helper()
	env, err := NewEnvs().Get(context.Background(), EnvSpec{Dataset: "mnist", Limit: 10000, Clients: 8, Dirichlet: 0.3,
		MinShard: 32, Model: model, Batch: batch, Optimizer: "sgd", EvalExamples: 2000, Seed: 1})
	if err != nil {
		b.Skipf("MNIST not available: %v", err)
	}
	return env
}

// BenchmarkLocalRound measures one client's local round of 20 steps.
func BenchmarkLocalRound(b *testing.B) {
	for _, c := range []struct {
		model string
		batch int
	}{{"logistic", 32}, {"mlp:32", 32}, {"mlp:64", 32}, {"mlp:64", 16}} {
		b.Run(c.model+"/batch"+itoa(c.batch), func(b *testing.B) {
			env := benchEnv(b, c.model, c.batch)
			task := &Task{Env: env.Spec, Client: 0, Steps: 20, LR: 0.1, Global: env.Init}
			ctx := context.Background()
			for b.Loop() {
				if _, err := env.Train(ctx, task); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEvaluate measures one evaluation of the global model on 2,000
// test examples.
func BenchmarkEvaluate(b *testing.B) {
	for _, model := range []string{"logistic", "mlp:32", "mlp:64"} {
		b.Run(model, func(b *testing.B) {
			env := benchEnv(b, model, 32)
			ctx := context.Background()
			for b.Loop() {
				if _, _, err := env.Evaluate(ctx, env.Init); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
