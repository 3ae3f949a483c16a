package losscurve_test

import (
	"context"
	"fmt"
	"math"

	"github.com/lrkit/lrkit/losscurve"
	"github.com/lrkit/lrkit/runlog"
)

// The multi-power law with the released 400M parameters (repo convention)
// on the MPL repo's wsd_20000_24000 schedule.
func ExampleMultiPower_Predict() {
	lrs := make([]float64, 24000)
	for i := range lrs {
		switch {
		case i < 2160:
			lrs[i] = 3e-4 * float64(i) / 2159
		case i < 20000:
			lrs[i] = 3e-4
		default:
			lrs[i] = 3e-4 * math.Pow(0.1, float64(i-20000)/4000)
		}
	}
	law := &losscurve.MultiPower{L0: 2.374745, A: 0.654212, Alpha: 0.428787, B: 523.4246, C: 2.024627, Beta: 0.593505, Gamma: 0.634725,
		Convention: losscurve.ConventionRepo, Warmup: -1}
	pred := law.Predict(lrs)
	for _, step := range []int{2160, 20000, 22000, 23999} {
		fmt.Printf("%5d %.4f\n", step, pred[step])
	}
	// Output:
	//  2160 3.5795
	// 20000 2.8412
	// 22000 2.7364
	// 23999 2.6998
}

// Fit a law to runs and score it on another run.
func ExampleFit() {
	truth := &losscurve.Annealing{L0: 2.5, A: 0.65, Alpha: 0.42, C: 0.57, Lambda: 0.999, Variant: losscurve.WarmupB, Warmup: -1}
	run := func(name string, decayFrom int) losscurve.Run {
		lrs := make([]float64, 5000)
		for i := range lrs {
			lrs[i] = 3e-4
			if i < 100 {
				lrs[i] = 3e-4 * float64(i+1) / 100
			} else if i >= decayFrom {
				lrs[i] = 3e-4 * (1 - 0.9*float64(i-decayFrom)/float64(5000-decayFrom))
			}
		}
		pred := truth.Predict(lrs)
		r := losscurve.Run{Name: name, LRs: lrs}
		for s := 99; s < 5000; s += 100 {
			r.Points = append(r.Points, losscurve.Point{Step: s, Loss: pred[s]})
		}
		return r
	}
	law, _, err := losscurve.Fit(context.Background(), losscurve.KindAnnealing, []losscurve.Run{run("constant", 5000), run("wsd", 4000)}, losscurve.FitOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, _ := losscurve.Evaluate(law, run("linear", 100))
	fmt.Printf("alpha %.3f, held-out PredE below 0.01%%: %v\n", law.Params()["alpha"], m.PredE < 1e-4)
	// Output:
	// alpha 0.420, held-out PredE below 0.01%: true
}

// Plan the schedule that minimises the predicted final loss.
func ExamplePlan() {
	law := &losscurve.MultiPower{L0: 2.374745, A: 0.654212, Alpha: 0.428787, B: 523.4246, C: 2.024627, Beta: 0.593505, Gamma: 0.634725,
		Convention: losscurve.ConventionPaper, Warmup: -1}
	res, err := losscurve.Plan(context.Background(), law, losscurve.PlanOptions{Steps: 24000, Warmup: 2160, Peak: 3e-4, Floor: 3e-5})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("nearest:", res.Nearest.Name)
	for _, c := range res.Compare[:2] {
		fmt.Printf("%s beats %s: %v\n", res.Optimum.Name, c.Name, res.Optimum.Final < c.Final)
	}
	// Output:
	// nearest: wsd 0.13 cosine
	// optimum beats cosine: true
	// optimum beats linear: true
}

// Score a held-out run only where it has left the fit runs' schedules: a
// WSD run resumed from the constant run's checkpoint shares its first
// 8000 steps.
func ExampleDeparture() {
	constant := make([]float64, 10000)
	wsd := make([]float64, 10000)
	for i := range constant {
		constant[i] = 1e-3
		wsd[i] = 1e-3
		if i >= 8000 {
			wsd[i] = 1e-3 * float64(10000-i) / 2000
		}
	}
	fmt.Println(losscurve.Departure(wsd, constant))
	// Output:
	// 8001
}

// A prediction interval from the bootstrap refits and the residual scale.
func ExampleFitted_Interval() {
	law := &losscurve.Power{L0: 2, A: 5, Alpha: 0.5}
	f := &losscurve.Fitted{Law: law, Sigma: 0.01}
	lrs := make([]float64, 100)
	mid, lo, hi := f.Interval(lrs, 0.9)
	fmt.Printf("%.4f [%.4f, %.4f]\n", mid[99], lo[99], hi[99])
	// Output:
	// 2.5000 [2.4592, 2.5415]
}

// A live forecast of a run that has kept a constant rate: the law cannot
// tell yet how the loss will respond to a decay, so it ranks nothing.
func ExampleLive() {
	truth := &losscurve.MultiPower{L0: 2.4, A: 0.65, Alpha: 0.43, B: 520, C: 2, Beta: 0.6, Gamma: 0.63, Convention: losscurve.ConventionPaper, Warmup: -1}
	rate := func(t int64) float64 { return 1e-3 * min(float64(t+1)/100, 1) }
	lrs := make([]float64, 2000)
	for i := range lrs {
		lrs[i] = rate(int64(i))
	}
	pred := truth.Predict(lrs)
	var recs []runlog.Record
	for s := int64(99); s < 2000; s += 20 {
		r := runlog.Record{Step: s}
		r.Set(runlog.FieldLoss, pred[s])
		recs = append(recs, r)
	}
	f, err := losscurve.Live(context.Background(), losscurve.LiveRun{Records: recs, Rate: rate, Next: 2000, Budget: 4000}, losscurve.ForecastOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Identifiable, len(f.Options))
	fmt.Println(f.Reason[:51])
	// Output:
	// false 0
	// not identifiable until the rate has decayed: since
}
