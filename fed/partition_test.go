package fed

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func labels(n, classes int) []int32 {
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(i % classes)
	}
	return y
}

func TestDirichletPartitionIsAPartition(t *testing.T) {
	y := labels(6000, 10)
	for _, alpha := range []float64{0.05, 0.3, 1, 100} {
		parts, err := DirichletPartition(y, 10, 8, alpha, 20, 7)
		if err != nil {
			t.Fatal(err)
		}
		seen := make([]bool, len(y))
		for k, p := range parts {
			if len(p) < 20 {
				t.Errorf("α=%g: client %d has %d examples, want ≥ 20", alpha, k, len(p))
			}
			if !slices.IsSorted(p) {
				t.Errorf("α=%g: client %d's indices are not sorted", alpha, k)
			}
			for _, i := range p {
				if seen[i] {
					t.Fatalf("α=%g: example %d given twice", alpha, i)
				}
				seen[i] = true
			}
		}
		if i := slices.Index(seen, false); i >= 0 {
			t.Fatalf("α=%g: example %d given to no client", alpha, i)
		}
		again, _ := DirichletPartition(y, 10, 8, alpha, 20, 7)
		for k := range parts {
			if !slices.Equal(parts[k], again[k]) {
				t.Fatalf("α=%g: same seed gave a different partition", alpha)
			}
		}
	}
}

// dominant is the mean over clients of the largest class share.
func dominant(y []int32, parts [][]int) float64 {
	var s float64
	for _, p := range parts {
		var c [10]int
		for _, i := range p {
			c[y[i]]++
		}
		s += float64(slices.Max(c[:])) / float64(len(p))
	}
	return s / float64(len(parts))
}

// TestDirichletPartitionAlpha checks the partition's point: small α gives
// clients few classes, large α nearly all ten in equal shares.
func TestDirichletPartitionAlpha(t *testing.T) {
	y := labels(20000, 10)
	skewed, err := DirichletPartition(y, 10, 10, 0.05, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	even, err := DirichletPartition(y, 10, 10, 1000, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := dominant(y, skewed); d < 0.6 {
		t.Errorf("α=0.05: mean largest class share %.3f, want > 0.6", d)
	}
	if d := dominant(y, even); d > 0.13 {
		t.Errorf("α=1000: mean largest class share %.3f, want near 0.1", d)
	}
	other, _ := DirichletPartition(y, 10, 10, 0.05, 10, 2)
	if slices.Equal(skewed[0], other[0]) {
		t.Error("seeds 1 and 2 gave client 0 the same shard")
	}
}

func TestDirichletPartitionErrors(t *testing.T) {
	y := labels(100, 10)
	for _, c := range []struct {
		labels           []int32
		clients, minSize int
		alpha            float64
		want             string
	}{
		{y, 0, 1, 1, "0 clients, want ≥ 1"},
		{y, 4, 1, 0, "alpha 0, want a finite number > 0"},
		{y, 4, 1, math.Inf(1), "alpha +Inf"},
		{y, 4, 30, 1, "100 examples cannot give 4 clients 30 each"},
		{[]int32{0, 3, 12}, 2, 1, 1, "example 2 has label 12, want a class in [0, 10)"},
		{y, 10, 10, 0.01, "after 1000 draws some client still had fewer than 10 examples"},
	} {
		_, err := DirichletPartition(c.labels, 10, c.clients, c.alpha, c.minSize, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d clients α=%g min %d: error %v, want %q", c.clients, c.alpha, c.minSize, err, c.want)
		}
	}
}

// TestGammaMean checks the gamma sampler's mean and variance (both equal
// the shape a) on both branches of the method.
func TestGammaMean(t *testing.T) {
	for _, a := range []float64{0.3, 1, 4.5} {
		rng := newTestRand(3)
		const n = 200000
		var s, ss float64
		for range n {
			x := gammaRand(rng, a)
			s += x
			ss += x * x
		}
		mean := s / n
		v := ss/n - mean*mean
		if math.Abs(mean-a) > 0.02*a+0.005 || math.Abs(v-a) > 0.05*a+0.01 {
			t.Errorf("Gamma(%g): mean %.4f, variance %.4f; want both %g", a, mean, v, a)
		}
	}
}

func TestSpeeds(t *testing.T) {
	for _, c := range []struct {
		s        Speeds
		mean, sd float64 // of the mean step time over 20000 clients
	}{
		{Speeds{Dist: "fixed", Mean: 2}, 2, 0},
		{Speeds{Dist: "uniform", Min: 1, Max: 3}, 2, 0.02},
		{Speeds{Dist: "exponential", Mean: 1}, 0.05 + math.Exp(-0.05), 0.03}, // E max(X, 1/20) = c + e^(−c)
		{Speeds{Dist: "lognormal", Mean: 1, Sigma: 0.8}, 1, 0.03},
	} {
		ts := c.s.StepTimes(20000, 5)
		var m float64
		for _, x := range ts {
			m += x
			if !(x > 0) {
				t.Fatalf("%s: step time %v", c.s.Dist, x)
			}
		}
		m /= float64(len(ts))
		if math.Abs(m-c.mean) > c.sd+1e-12 {
			t.Errorf("%s: mean step time %.4f, want %.4f ± %g", c.s.Dist, m, c.mean, c.sd)
		}
		if !slices.Equal(ts, c.s.StepTimes(20000, 5)) {
			t.Errorf("%s: same seed, different speeds", c.s.Dist)
		}
	}
	s := Speeds{Dist: "fixed", Mean: 0.5}
	if got := s.roundTime(0.5, 20, 1, 3, 7); got != 10 {
		t.Errorf("no jitter: round time %v, want 20·0.5 = 10", got)
	}
	s.Jitter = 0.1
	a, b := s.roundTime(0.5, 20, 1, 3, 7), s.roundTime(0.5, 20, 1, 2, 7)
	if a == 10 || a == b || a != s.roundTime(0.5, 20, 1, 3, 7) {
		t.Errorf("jitter: round times %v, %v: want a fixed draw per (client, round), different between clients", a, b)
	}
	for _, c := range []struct {
		s    Speeds
		want string
	}{
		{Speeds{Dist: "gamma", Mean: 1}, `speeds: unknown distribution "gamma"`},
		{Speeds{Dist: "uniform", Min: 2, Max: 1}, "speeds: max 1 is below min 2"},
		{Speeds{Dist: "lognormal", Mean: 1}, "speeds: sigma 0, want a finite number > 0"},
		{Speeds{Dist: "fixed", Mean: 1, Jitter: 2}, "speeds: jitter 2, want in [0, 1]"},
	} {
		if err := c.s.Validate(); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.s, err, c.want)
		}
	}
}

func newTestRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }

// TestEnvsEvicts checks that the environment cache keeps MaxEnvs
// environments and rebuilds an evicted one identically.
func TestEnvsEvicts(t *testing.T) {
	envs := NewEnvs()
	envs.MaxEnvs = 2
	ctx := context.Background()
	spec := smallConfig(FedAvg, "", 1).Env
	first, err := envs.Get(ctx, spec)
	if err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	for seed := uint64(2); seed <= 3; seed++ {
		s := spec
		s.Seed = seed
		if _, err := envs.Get(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if len(envs.envs) != 2 || len(envs.used) != 2 {
		t.Fatalf("%d environments cached, want 2", len(envs.envs))
	}
	again, err := envs.Get(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if again == first || !slices.Equal(again.Init, first.Init) || !slices.Equal(again.Shards[2].Y, first.Shards[2].Y) {
		t.Fatal("the rebuilt environment is not a fresh identical copy")
	}
}
