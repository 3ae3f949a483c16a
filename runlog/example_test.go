package runlog_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lrkit/lrkit/runlog"
)

func ExampleReadFile() {
	recs, err := runlog.ReadFile("testdata/example.csv", runlog.ReadOptions{
		OnWarning: func(w runlog.Warning) { fmt.Println("warning:", w) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range recs {
		fmt.Println(r.Step, r.LR, r.Loss, r.Has(runlog.FieldValLoss))
	}
	// Output:
	// warning: testdata/example.csv:4: loss is NaN at step 200
	// 0 0.001 10.98 true
	// 100 0.002 7.61 false
	// 200 0.003 NaN false
	// 300 0.003 5.56 true
}

func ExampleNewCSVReader() {
	log := "step,lr,loss\n0,0.1,2.30\n10,0.1,\n5,0.1,1.9\n"
	r := runlog.NewCSVReader(strings.NewReader(log), runlog.ReadOptions{Name: "run.csv"})
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(rec.Step, rec.LR, rec.Has(runlog.FieldLoss))
	}
	// Output:
	// 0 0.1 true
	// 10 0.1 false
	// run.csv:4: step 5 is not after the previous step 10 (line 3): steps must increase
}

func ExampleCSVWriter() {
	w := runlog.NewCSVWriter(os.Stdout, runlog.FieldLR|runlog.FieldLoss)
	var r runlog.Record
	r.Step = 0
	r.Set(runlog.FieldLR, 1e-3/3)
	r.Set(runlog.FieldLoss, 2.5)
	w.Write(r)
	w.Write(runlog.Record{Step: 1, LR: 0.1, Present: runlog.FieldLR})
	w.Close()
	// Output:
	// step,lr,loss
	// 0,0.0003333333333333333,2.5
	// 1,0.1,
}

func ExampleParseTagMap() {
	tags, err := runlog.ParseTagMap("loss=train/loss,lr=opt/lr")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tags["opt/lr"], tags["train/loss"])
	_, err = runlog.ParseTagMap("los=train/loss")
	fmt.Println(err)
	// Output:
	// lr loss
	// tag map pair 1 "los=train/loss": unknown field "los" (did you mean "loss"?)
}

func ExampleNewTFEventsReader() {
	// Build an event file as PyTorch's SummaryWriter would: one event per
	// scalar, lr under the tag "opt/lr".
	var file bytes.Buffer
	w := runlog.NewTFEventWriter(&file, runlog.TFEventOptions{WallTime: func() float64 { return 1.7e9 }})
	for step := int64(0); step < 3; step++ {
		w.WriteScalar(step, "train/loss", 3-float32(step)/2)
		w.WriteScalar(step, "opt/lr", 0.001)
	}
	w.Close()

	tags, _ := runlog.ParseTagMap("loss=train/loss,lr=opt/lr")
	r := runlog.NewTFEventsReader(&file, runlog.ReadOptions{Tags: tags})
	recs, err := runlog.ReadAll(r)
	fmt.Println(len(recs), err)
	for _, rec := range recs {
		fmt.Println(rec.Step, rec.LR, rec.Loss)
	}
	// Output:
	// 3 <nil>
	// 0 0.001 3
	// 1 0.001 2.5
	// 2 0.001 2
}
