package scaling_test

import (
	"context"
	"fmt"

	"github.com/lrkit/lrkit/scaling"
)

// Fit a Chinchilla law to final losses drawn from a known law and predict
// a larger model.
func ExampleFit() {
	truth := scaling.Law{Form: scaling.Chinchilla, E: 1.69, A: 406.4, Alpha: 0.34, B: 410.7, Beta: 0.28}
	var points []scaling.Point
	for _, n := range []float64{1e7, 3e7, 1e8, 3e8, 1e9} {
		for _, tokensPerParam := range []float64{5, 20, 80} {
			d := n * tokensPerParam
			points = append(points, scaling.Point{Group: "cosine", N: n, D: d, Loss: truth.Loss(n, d)})
		}
	}
	law, err := scaling.Fit(context.Background(), scaling.Chinchilla, points, scaling.FitOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("E %.2f alpha %.2f beta %.2f\n", law.E, law.Alpha, law.Beta)
	fmt.Printf("predicted loss of 3B parameters on 60B tokens: %.3f (true %.3f)\n", law.Loss(3e9, 6e10), truth.Loss(3e9, 6e10))
	// Output:
	// E 1.69 alpha 0.34 beta 0.28
	// predicted loss of 3B parameters on 60B tokens: 2.328 (true 2.328)
}
