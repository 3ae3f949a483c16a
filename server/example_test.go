package server_test

import (
	"fmt"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/server"
)

// "Decay now" is written in the spec language: the current schedule up
// to the step, then a decay from its current rate.
func ExampleDecaySpec() {
	c, _ := control.Parse("warmup(constant(peak=0.1), steps=10)")
	spec, _ := server.DecaySpec(c, 500, 100, 0.001, "1-sqrt")
	fmt.Println(spec)
	// Output:
	// join([warmup(constant(peak=0.1), steps=10), wsd(peak=0.1, floor=0.001, steps=100, decay=100, shape=1-sqrt)], at=[500])
}

// Extending the budget re-warms to the peak and decays to the new budget.
func ExampleExtendSpec() {
	c, _ := control.Parse("linear(peak=0.1, steps=1000)")
	spec, _ := server.ExtendSpec(c, 1000, server.ExtendRequest{Budget: 3000, Warmup: 100})
	fmt.Println(spec)
	// Output:
	// join([linear(peak=0.1, steps=1000), warmup(cosine(peak=0.1, steps=2000), steps=100)], at=[1000])
}
