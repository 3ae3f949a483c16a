package schedule_test

import (
	"errors"
	"fmt"

	"github.com/lrkit/lrkit/schedule"
)

func ExampleParse() {
	s, err := schedule.Parse("wsd(peak=3e-4, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s)
	fmt.Printf("%.6g %.6g %.6g\n", s.LR(250), s.LR(5000), s.LR(10000))
	// Output:
	// wsd(peak=0.0003, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)
	// 0.00015 0.0003 0
}

func ExampleParse_error() {
	_, err := schedule.Parse("cosine(peek=1, steps=100)")
	fmt.Println(err)
	_, err = schedule.Parse("cosine(peak=1, floor=2, steps=100)")
	fmt.Println(err)
	var se *schedule.SpecError
	if errors.As(err, &se) {
		fmt.Println(se.Pos.Line, se.Pos.Col)
	}
	// Output:
	// spec:1:8: unknown parameter "peek" for cosine (did you mean "peak"?)
	// spec:1:22: floor: must not exceed peak (floor 2 > peak 1); lower floor or raise peak
	// 1 22
}

func ExampleFormat() {
	s, _ := schedule.New(schedule.Warmup{
		Base:  schedule.Cosine{Peak: 0.1, Steps: 900, Parity: "none"},
		Steps: 100, Shape: "linear", Beta2: 0.999,
	})
	fmt.Println(schedule.Format(s))
	// Output:
	// warmup(cosine(peak=0.1, steps=900), steps=100)
}

func ExampleToJSON() {
	s, _ := schedule.Parse("warmup(cosine(steps=900), steps=100)")
	js, _ := schedule.ToJSON(s)
	fmt.Println(string(js))
	back, _ := schedule.ParseJSON(js)
	fmt.Println(back)
	// Output:
	// {"kind":"warmup","base":{"kind":"cosine","steps":900},"steps":100}
	// warmup(cosine(steps=900), steps=100)
}

func ExampleWithParity() {
	s, _ := schedule.Parse("warmup(cosine(steps=100), steps=10)")
	p, _ := schedule.WithParity(s, "pytorch")
	fmt.Println(p)
	// Output:
	// warmup(cosine(steps=100, parity=pytorch), steps=10)
}

// A package with its own calls (a controller, say) reads the text with
// ParseExpr and hands the schedule inside to BuildExpr.
func ExampleBuildExpr() {
	e, _ := schedule.ParseExpr("plateau(base=cosine(peak=1, steps=100), factor=0.5)")
	arg, _ := e.Arg("base")
	base, err := schedule.BuildExpr(arg.Value.Call)
	if err != nil {
		fmt.Println(err)
		return
	}
	factor, _ := e.Arg("factor")
	fmt.Println(e.Name, base, factor.Value.Text)
	// Output:
	// plateau cosine(steps=100) 0.5
}

func ExampleParams() {
	k, _ := schedule.KindOf("cosine")
	for _, p := range schedule.Params(k) {
		fmt.Printf("%s %s default=%q required=%v %v\n", p.Name, p.Type, p.Default, p.Required, p.Choices)
	}
	// Output:
	// peak number default="1" required=false []
	// floor number default="0" required=false []
	// steps integer default="" required=true []
	// parity word default="none" required=false [none pytorch hf optax]
}
