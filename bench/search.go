package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
)

// Quasirandom returns n points of a scrambled Halton sequence in [0,1)^dims,
// the quasirandom search of Bousquet et al. 2017 ("Critical
// hyper-parameters: no random, no cry", arXiv 1706.03200) that AlgoPerf's
// external tuning uses. Dimension d uses the d-th prime as its base, and
// the digits of each base are permuted by a random permutation drawn from
// seed (keeping 0 fixed, so the sequence still covers [0,1) evenly); the
// first point is skipped because it is the origin in every dimension.
func Quasirandom(n, dims int, seed uint64) [][]float64 {
	primes := firstPrimes(dims)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	perms := make([][]int, dims)
	for d, b := range primes {
		p := make([]int, b)
		for i := range p {
			p[i] = i
		}
		// Fisher-Yates over 1..b-1: digit 0 stays 0.
		for i := b - 1; i > 1; i-- {
			j := 1 + rng.IntN(i)
			p[i], p[j] = p[j], p[i]
		}
		perms[d] = p
	}
	pts := make([][]float64, n)
	for i := range pts {
		pts[i] = make([]float64, dims)
		for d, b := range primes {
			pts[i][d] = radicalInverse(uint64(i+1), b, perms[d])
		}
	}
	return pts
}

func radicalInverse(i uint64, base int, perm []int) float64 {
	b := uint64(base)
	inv := 1 / float64(base)
	f := inv
	x := 0.0
	for i > 0 {
		x += float64(perm[i%b]) * f
		i /= b
		f *= inv
	}
	return x
}

func firstPrimes(n int) []int {
	var ps []int
	for c := 2; len(ps) < n; c++ {
		prime := true
		for _, p := range ps {
			if p*p > c {
				break
			}
			if c%p == 0 {
				prime = false
				break
			}
		}
		if prime {
			ps = append(ps, c)
		}
	}
	return ps
}

// scale maps u in [0,1) into the range.
func (r Range) scale(u float64) float64 {
	if r.Scale == "log" {
		return math.Exp(math.Log(r.Min) + u*(math.Log(r.Max)-math.Log(r.Min)))
	}
	return r.Min + u*(r.Max-r.Min)
}

// WorkloadInfo is what the study needs to know of a workload to expand
// its trials.
type WorkloadInfo struct {
	StepHint       int64
	DefaultPeak    float64
	Target         float64
	HigherIsBetter bool
	// PeakLow and PeakHigh are the workload's starting peak grid
	// (workload.Workload.PeakSearchRange); zero means a decade either side
	// of DefaultPeak.
	PeakLow, PeakHigh float64
}

// peakRange returns the workload's starting grid range.
func (wi WorkloadInfo) peakRange() (low, high float64) {
	if wi.PeakLow > 0 && wi.PeakHigh > wi.PeakLow {
		return wi.PeakLow, wi.PeakHigh
	}
	return wi.DefaultPeak / 10, wi.DefaultPeak * 10
}

// Trial is one training run of one workload under one schedule.
type Trial struct {
	Key       string  `json:"key"` // unique in the study, stable across runs
	Workload  string  `json:"workload"`
	Entry     string  `json:"entry"` // the schedule's name in the study
	Spec      string  `json:"spec"`  // the expanded schedule or controller spec
	Optimizer string  `json:"optimizer,omitempty"`
	Refine    bool    `json:"refine,omitempty"` // refine Spec's run, then train the refined schedule
	Budget    float64 `json:"budget"`           // fraction of the step hint
	Steps     int64   `json:"steps"`
	Seed      int64   `json:"seed"`
	Study     int     `json:"study"` // index of the seed: AlgoPerf's study
	Point     int     `json:"point"` // index of the search point within the study (external mode)
	// Role is grid mode's kind of trial: "tune" (a selection seed at a grid
	// point), "probe" (the first part of a "tune" run, for the pruner:
	// tuning.prune) or "eval" (an evaluation seed at the chosen peak).
	Role string `json:"role,omitempty"`
	// StopAt, when > 0, ends the run after StopAt of its Steps steps: a
	// probe trains the start of the budget's schedule.
	StopAt int64 `json:"stop_at,omitempty"`
	// Grid is the grid point of a grid-mode trial: its peak is the grid's
	// low end times ratio^Grid, and extension below the initial grid gives
	// negative indexes.
	Grid      int                `json:"grid,omitempty"`
	Params    map[string]float64 `json:"params"`
	Target    float64            `json:"target"`
	Higher    bool               `json:"higher_is_better"`
	EvalEvery int64              `json:"eval_every"`
	// Command is the program of a command workload, nil for a built-in
	// workload.
	Command *CommandWorkload `json:"command,omitempty"`
}

// selection says whether the trial chooses a peak (a selection run or a
// probe) rather than being scored.
func (tr Trial) selection() bool { return tr.Role == "tune" || tr.Role == "probe" }

// Trials expands the study into its trials: every workload × budget ×
// schedule × seed × search point. The search points are shared by all
// schedules (the same N quasirandom points, spread round-robin over the
// studies), so schedules are compared on equal tuning effort.
func (s *Study) Trials(info map[string]WorkloadInfo) ([]Trial, error) {
	dims := make([]string, 0, len(s.Tuning.Space))
	for k := range s.Tuning.Space {
		dims = append(dims, k)
	}
	sort.Strings(dims)
	perStudy := s.Tuning.Trials
	if s.Tuning.Mode == "self" {
		perStudy = 1
	}
	points := Quasirandom(perStudy*len(s.Seeds), len(dims), 1)
	var out []Trial
	for _, w := range s.Workloads {
		wi, ok := info[w]
		if !ok {
			return nil, fmt.Errorf("bench: study %s: unknown workload %q", s.Name, w)
		}
		if t, ok := s.Targets[w]; ok {
			wi.Target = t
		}
		for _, b := range s.budgetsOf(w) {
			steps := int64(math.Round(b * float64(wi.StepHint)))
			if steps < 1 {
				return nil, fmt.Errorf("bench: study %s: budget %v of %s's step hint %d is under one step", s.Name, b, w, wi.StepHint)
			}
			evalEvery := steps / int64(s.Eval.Count)
			if evalEvery < 1 {
				evalEvery = 1
			}
			for _, e := range s.Schedules {
				spec := e.Spec
				if e.Refine != "" {
					for _, o := range s.Schedules {
						if o.Name == e.Refine {
							spec = o.Spec
							if e.Optimizer == "" {
								e.Optimizer = o.Optimizer
							}
						}
					}
				}
				n := perStudy
				if e.SelfTuned {
					n = 1
				}
				for si, seed := range s.Seeds {
					for p := 0; p < n; p++ {
						params := map[string]float64{"peak": wi.DefaultPeak, "warmup": 0}
						if !e.SelfTuned && s.Tuning.Mode != "self" {
							pt := points[p*len(s.Seeds)+si]
							for d, name := range dims {
								params[name] = s.Tuning.Space[name].scale(pt[d])
							}
						}
						warm := int64(math.Round(params["warmup"] * float64(steps)))
						vars := map[string]string{
							"peak":        strconv.FormatFloat(params["peak"], 'g', 6, 64),
							"steps":       strconv.FormatInt(steps, 10),
							"warmup":      strconv.FormatInt(warm, 10),
							"decay_steps": strconv.FormatInt(steps-warm, 10),
						}
						for _, name := range dims {
							if _, ok := vars[name]; !ok {
								vars[name] = strconv.FormatFloat(params[name], 'g', 6, 64)
							}
						}
						out = append(out, Trial{
							Key:       fmt.Sprintf("%s/%s/b%g/s%d/p%d", w, e.Name, b, seed, p),
							Command:   s.command(w),
							Workload:  w,
							Entry:     e.Name,
							Spec:      Expand(spec, vars),
							Optimizer: e.Optimizer,
							Refine:    e.Refine != "",
							Budget:    b,
							Steps:     steps,
							Seed:      seed,
							Study:     si,
							Point:     p,
							Params:    params,
							Target:    wi.Target,
							Higher:    wi.HigherIsBetter,
							EvalEvery: evalEvery,
						})
					}
				}
			}
		}
	}
	return out, nil
}
