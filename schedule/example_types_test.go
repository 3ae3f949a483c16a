package schedule_test

import (
	"fmt"

	"github.com/lrkit/lrkit/schedule"
)

// A warmup-stable-decay schedule with the 1-sqrt cooldown of Hägele et al.
func ExampleWSD() {
	s, err := schedule.New(schedule.WSD{
		Peak: 3e-4, Steps: 10000,
		Warmup: schedule.Steps(500), Decay: schedule.Fraction(0.2), Shape: "1-sqrt",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range []int64{0, 250, 500, 7999, 9000, 10000} {
		fmt.Printf("%5d %.4g\n", t, s.LR(t))
	}
	// Output:
	//     0 0
	//   250 0.00015
	//   500 0.0003
	//  7999 0.0003
	//  9000 8.787e-05
	// 10000 0
}

// Cosine annealing; parity=pytorch keeps following the cosine after T as
// CosineAnnealingLR does, while lrkit's default holds the floor.
func ExampleCosine() {
	clean := schedule.Cosine{Peak: 1, Floor: 0.1, Steps: 100}
	torch := schedule.Cosine{Peak: 1, Floor: 0.1, Steps: 100, Parity: schedule.ParityPyTorch}
	for _, t := range []int64{0, 50, 100, 150} {
		fmt.Printf("%3d %.4g %.4g\n", t, clean.LR(t), torch.LR(t))
	}
	// Output:
	//   0 1 1
	//  50 0.55 0.55
	// 100 0.1 0.1
	// 150 0.1 0.55
}

// Any schedule gets a warmup in front; the base runs on its own steps.
func ExampleWarmup() {
	// 100 warm-up steps inside a 1000-step linear decay (as Hugging Face's
	// get_linear_schedule_with_warmup counts them).
	s, _ := schedule.New(schedule.Warmup{
		Base:  schedule.Linear{Peak: 1, Steps: 1000},
		Steps: 100,
	})
	for _, t := range []int64{0, 50, 100, 550, 1000} {
		fmt.Printf("%4d %.4g\n", t, s.LR(t))
	}
	// Output:
	//    0 0
	//   50 0.5
	//  100 1
	//  550 0.5
	// 1000 0
}

// Join switches schedules at given steps; each part starts at its own step 0.
func ExampleJoin() {
	s, _ := schedule.New(schedule.Join{
		Parts: []schedule.Schedule{
			schedule.Constant{Peak: 0.1},
			schedule.Step{Peak: 0.1, Every: 100, Gamma: 0.5},
		},
		At: []int64{1000},
	})
	for _, t := range []int64{999, 1000, 1100, 1250} {
		fmt.Printf("%4d %g\n", t, s.LR(t))
	}
	// Output:
	//  999 0.1
	// 1000 0.1
	// 1100 0.05
	// 1250 0.025
}

// SGDR finds its cycle with integer arithmetic, so every restart is exact.
func ExampleSGDR() {
	s := schedule.SGDR{Peak: 1, Period: 100, Mult: 2, Decay: 0.5}
	for _, t := range []int64{0, 99, 100, 300, 700} {
		fmt.Printf("%3d %.4g\n", t, s.LR(t))
	}
	// Output:
	//   0 1
	//  99 0.0002467
	// 100 0.5
	// 300 0.25
	// 700 0.125
}

// The infinite schedule: warmup, cooldown to η_const, and a constant tail
// that later tasks continue from.
func ExampleInfinite() {
	s, _ := schedule.New(schedule.Infinite{
		Peak: 1e-3, Level: 1e-4, Warmup: schedule.Steps(100), Cooldown: schedule.Steps(400),
		Shape: "cosine", Alpha: 10,
	})
	for _, t := range []int64{50, 100, 300, 500, 1_000_000} {
		fmt.Printf("%7d %.4g\n", t, s.LR(t))
	}
	// Output:
	//      50 0.0005
	//     100 0.001
	//     300 0.00055
	//     500 0.0001
	// 1000000 0.0001
}

// A table schedule: piecewise linear through points, holding its ends.
func ExampleTable() {
	s, _ := schedule.New(schedule.Table{At: []int64{0, 100, 1000}, Rates: []float64{0, 1, 0.1}, Scale: 3e-4})
	for _, t := range []int64{0, 50, 100, 550, 2000} {
		fmt.Printf("%4d %.4g\n", t, s.LR(t))
	}
	// Output:
	//    0 0
	//   50 0.00015
	//  100 0.0003
	//  550 0.000165
	// 2000 3e-05
}

// Validation errors name the parameter and the fix.
func ExampleNew() {
	_, err := schedule.New(schedule.Linear{Peak: 1, Floor: 2, Steps: 100})
	fmt.Println(err)
	_, err = schedule.New(schedule.UBA{Peak: 1, Steps: 100})
	fmt.Println(err)
	// Output:
	// floor: must not exceed peak (floor 2 > peak 1); lower floor or raise peak
	// phi: must be greater than 0, got 0
}
