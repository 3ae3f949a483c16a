package fed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lrkit/lrkit/dispatch"
)

// TestMain lets the test binary double as a federated client process:
// with LRKIT_FED_CLIENT set to a NATS URL it serves tasks (as `lrkit fed
// client` does) until its standard input closes.
func TestMain(m *testing.M) {
	if url := os.Getenv("LRKIT_FED_CLIENT"); url != "" {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
		err := Serve(ctx, url, ServeOptions{Queue: os.Getenv("LRKIT_FED_QUEUE"), Log: os.Stdout})
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// smallConfig is a federation that runs in well under a second: 4
// clients on a slice of MNIST.
func smallConfig(alg, rule string, seed uint64) Config {
	return Config{
		Env: EnvSpec{Dataset: "mnist", Limit: 3000, Clients: 4, Dirichlet: 0.5, MinShard: 16, Model: "mlp:8",
			Batch: 16, Optimizer: "sgd", EvalExamples: 300, Seed: seed},
		Algorithm: alg, Rule: rule, LR: 0.1, LocalSteps: 5, Alpha: 0.9, Staleness: Staleness{Fn: "polynomial", A: 0.5},
		Buffer: 2, QMin: 1, Lambda: 1.5, SpeedMomentum: 0.9,
		Speeds: Speeds{Dist: "lognormal", Mean: 1, Sigma: 0.8, Jitter: 0.1}, Budget: 60, EvalEvery: 10, EvalRounds: 1,
	}
}

func mnistOrSkip(t *testing.T, envs *Envs) {
	t.Helper()
	if _, err := envs.Get(context.Background(), smallConfig(FedAvg, "", 1).Env); err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
}

var determinismCases = []struct{ alg, rule string }{
	{FedAvg, RuleNone}, {FedAvg, RuleG}, {FedAvg, RuleSL}, {FedAvg, RuleFull},
	{FedAsync, RuleNone}, {FedBuff, RuleNone}, {FedCompass, RuleNone},
}

// TestRunDeterministic runs every algorithm twice with the same seed (in
// fresh environments) and once with another: the same seed gives the same
// federation bit for bit, another seed a different one.
func TestRunDeterministic(t *testing.T) {
	ctx := context.Background()
	envs := NewEnvs()
	mnistOrSkip(t, envs)
	for _, c := range determinismCases {
		a, err := Run(ctx, smallConfig(c.alg, c.rule, 1), envs, nil)
		if err != nil {
			t.Fatalf("%s %s: %v", c.alg, c.rule, err)
		}
		b, err := Run(ctx, smallConfig(c.alg, c.rule, 1), NewEnvs(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s %s: two runs with seed 1 differ:\n%+v\n%+v", c.alg, c.rule, a, b)
		}
		o, err := Run(ctx, smallConfig(c.alg, c.rule, 2), envs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if o.Model == a.Model {
			t.Errorf("%s %s: seeds 1 and 2 ended at the same model", c.alg, c.rule)
		}
		f := a.Final()
		if f.Time != 60 || f.Accuracy < 0.3 || a.Updates == 0 || a.Diverged {
			t.Errorf("%s %s: final point %+v after %d updates (diverged %v): want time 60 and some learning", c.alg, c.rule, f, a.Updates, a.Diverged)
		}
		if c.alg == FedAvg && a.MaxStaleness != 0 {
			t.Errorf("fedavg: staleness %d", a.MaxStaleness)
		}
		if c.alg == FedAsync && a.MaxStaleness == 0 {
			t.Errorf("fedasync: no stale update among %d with heterogeneous speeds", a.Updates)
		}
	}
}

// TestRunCancel checks that a cancelled run stops with the context's
// error.
func TestRunCancel(t *testing.T) {
	envs := NewEnvs()
	mnistOrSkip(t, envs)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, smallConfig(FedCompass, "", 1), envs, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v, want context.Canceled", err)
	}
}

// TestNATSClientsMatchInProcess runs federations whose local rounds go to
// two client processes over an embedded NATS JetStream server, and checks
// that they match the in-process runs of the same seed bit for bit.
func TestNATSClientsMatchInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS server and two processes")
	}
	envs := NewEnvs()
	mnistOrSkip(t, envs)
	e, err := dispatch.StartEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	const queue = "FEDTEST"
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	served := map[int]int{}
	var wg sync.WaitGroup
	for k := range 2 {
		cmd := exec.Command(self, "-test.run=^$")
		cmd.Env = append(os.Environ(), "LRKIT_FED_CLIENT="+e.URL(), "LRKIT_FED_QUEUE="+queue)
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "task ") {
					mu.Lock()
					served[k]++
					mu.Unlock()
				}
			}
		}()
		defer func() {
			stdin.Close()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("client process %d: %v", k, err)
				}
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Errorf("client process %d did not stop", k)
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ex, err := NewNATS(ctx, e.URL(), queue)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	for _, c := range []struct{ alg, rule string }{{FedCompass, RuleNone}, {FedAvg, RuleFull}} {
		cfg := smallConfig(c.alg, c.rule, 3)
		local, err := Run(ctx, cfg, envs, nil)
		if err != nil {
			t.Fatal(err)
		}
		remote, err := Run(ctx, cfg, envs, ex)
		if err != nil {
			t.Fatalf("%s %s over NATS: %v", c.alg, c.rule, err)
		}
		if !reflect.DeepEqual(local, remote) {
			t.Errorf("%s %s: over NATS\n%+v\nin process\n%+v", c.alg, c.rule, remote, local)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if served[0] == 0 || served[1] == 0 {
		t.Errorf("tasks served per process: %v, want both processes to serve", served)
	}
}
