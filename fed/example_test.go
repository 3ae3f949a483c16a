package fed_test

import (
	"fmt"

	"github.com/lrkit/lrkit/fed"
)

// A Dirichlet label partition of 1,000 examples of 10 classes among 4
// clients: small α gives each client a few dominant classes.
func ExampleDirichletPartition() {
	labels := make([]int32, 1000)
	for i := range labels {
		labels[i] = int32(i % 10)
	}
	parts, err := fed.DirichletPartition(labels, 10, 4, 0.3, 20, 1)
	if err != nil {
		panic(err)
	}
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	fmt.Println(len(parts), "clients,", total, "examples in all")
	// Output: 4 clients, 1000 examples in all
}

// FedAsync's polynomial staleness weight (τ + 1)^(−a).
func ExampleStaleness_Weight() {
	s := fed.Staleness{Fn: "polynomial", A: 0.5}
	for _, tau := range []int64{0, 3, 8} {
		fmt.Printf("τ=%d: %.4f\n", tau, s.Weight(tau))
	}
	// Output:
	// τ=0: 1.0000
	// τ=3: 0.5000
	// τ=8: 0.3333
}

// The COMPASS scheduler gives a slower client fewer local steps so that
// it arrives when the faster one next does.
func ExampleCompass() {
	c := fed.NewCompass(2, 20, 100, 1.5, 0.9)
	c.Start(0, 0, 100)
	c.Start(1, 0, 100)
	c.Arrive(0, 100) // 1 s per step
	steps, group, _, _ := c.Assign(0, 100)
	fmt.Printf("client 0: %d steps in group %d\n", steps, group)
	c.Arrive(1, 200) // 2 s per step
	steps, group, _, _ = c.Assign(1, 200)
	fmt.Printf("client 1: %d steps in group %d\n", steps, group)
	// Output:
	// client 0: 100 steps in group 0
	// client 1: 75 steps in group 1
}
