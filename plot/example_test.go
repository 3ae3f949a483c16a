package plot_test

import (
	"bytes"
	"fmt"
	"log"
	"math"
	"strings"

	"github.com/lrkit/lrkit/plot"
)

func cosineSeries(name string, n int) plot.Series {
	s := plot.Series{Name: name}
	for t := 0; t <= n; t++ {
		s.X = append(s.X, float64(t))
		s.Y = append(s.Y, (1+math.Cos(math.Pi*float64(t)/float64(n)))/2)
	}
	return s
}

func ExampleTerminal() {
	var buf bytes.Buffer
	if err := plot.Terminal(&buf, 40, 10, cosineSeries("cosine", 100)); err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		fmt.Println(strings.TrimRight(line, " "))
	}
	// Output:
	//   1 ┤•••••••
	//     │      ••••••
	//     │           •••••
	// 0.5 ┤               •••••
	//     │                   •••••
	//     │                       ••••••
	//   0 ┤                            •••••••
	//     └───────────────────────────────────
	//      0                               100
	// • cosine
}

func ExampleSparkline() {
	fmt.Println(plot.Sparkline([]float64{1, 2, 4, 8, 4, 2, 1}, 0))
	fmt.Println(plot.Sparkline(cosineSeries("cosine", 1000).Y, 20))
	// Output:
	// ▁▂▄█▄▂▁
	// ███▇▇▇▆▆▅▅▄▄▃▃▂▂▂▁▁▁
}

func ExampleChart_Lines() {
	c := plot.Chart{Title: "Schedules", XLabel: "step", YLabel: "learning rate", Width: 640, Height: 400}
	var svg bytes.Buffer
	if err := c.Lines(&svg, "svg", cosineSeries("cosine(peak=1, steps=100)", 100)); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Contains(svg.String(), "cosine(peak=1, steps=100)"))
	// Output: true
}

func ExampleChart_Heatmap() {
	g := plot.Grid{
		Rows:   []string{"cosine", "wsd"},
		Cols:   []string{"1e-4", "3e-4"},
		Values: [][]float64{{3.9, 3.5}, {3.8, 3.4}},
	}
	var svg bytes.Buffer
	err := plot.Chart{Title: "final loss", XLabel: "peak lr", YLabel: "schedule"}.Heatmap(&svg, "svg", g)
	fmt.Println(err, strings.Contains(svg.String(), "final loss"))
	// Output: <nil> true
}
