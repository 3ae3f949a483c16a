package control_test

import (
	"fmt"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
)

func ExampleParse() {
	c, err := control.Parse("plateau(base=constant(peak=0.1), factor=0.5, patience=0)")
	if err != nil {
		panic(err)
	}
	for step, val := range []float64{1.0, 0.9, 0.9} {
		c.Observe(runlog.Record{Step: int64(step), ValLoss: val, Present: runlog.FieldValLoss})
		fmt.Printf("after step %d: lr %g\n", step, c.LR(int64(step+1)))
	}
	fmt.Println(c)
	// Output:
	// after step 0: lr 0.1
	// after step 1: lr 0.1
	// after step 2: lr 0.05
	// plateau(base=constant(peak=0.1), factor=0.5, patience=0)
}

func ExampleRefine() {
	// Gradient norms of a previous run: large at first, then flat.
	lrs, err := control.Refine([]float64{8, 4, 2, 2, 2, 2, 2, 3}, control.RuleL2, control.RefineOptions{NoSmooth: true})
	if err != nil {
		panic(err)
	}
	for _, v := range lrs {
		fmt.Printf("%.4f ", v)
	}
	fmt.Println()
	// Output:
	// 0.0801 0.3063 1.0000 0.7750 0.5500 0.3250 0.1000 0.0000
}

func ExampleHD() {
	// SGD-HD on f = x²/2 (adaptive.md §3a): the loop feeds ⟨g_t, u_{t−1}⟩
	// before asking for the rate.
	h := control.NewHD(0.1, 0.01)
	x, u := 1.0, 0.0
	for t := range 3 {
		g := x
		h.ObserveGradient(int64(t), control.Hypergradient{Dot: g * u, GradSq: g * g, DirSq: u * u})
		x -= h.LR(int64(t)) * g
		u = g
		fmt.Printf("α %.6f x %.6f\n", h.LR(int64(t)), x)
	}
	// Output:
	// α 0.100000 x 0.900000
	// α 0.109000 x 0.801900
	// α 0.116217 x 0.708706
}
