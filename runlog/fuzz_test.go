package runlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkStream reads everything r gives and checks the reader's promises:
// steps increase, no step is negative, every error is a *ParseError that
// names the file, warnings name the file.
func checkStream(t *testing.T, r Reader) []Record {
	t.Helper()
	recs, err := ReadAll(r)
	for i, rec := range recs {
		if rec.Step < 0 {
			t.Fatalf("record %d has negative step %d", i, rec.Step)
		}
		if i > 0 && rec.Step <= recs[i-1].Step {
			t.Fatalf("steps do not increase: %d then %d", recs[i-1].Step, rec.Step)
		}
		if rec.Present&^AllFields != 0 {
			t.Fatalf("record %d has unknown fields %v", i, rec.Present)
		}
	}
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("error %T %v is not a *ParseError", err, err)
		}
		if !strings.HasPrefix(err.Error(), "fz") {
			t.Fatalf("error %q does not name the file", err)
		}
		return nil
	}
	for _, w := range r.Warnings() {
		if !strings.HasPrefix(w.String(), "fz") {
			t.Fatalf("warning %q does not name the file", w.String())
		}
	}
	return recs
}

// roundTrip writes recs with w and reads them back with read; the records
// must come back unchanged.
func roundTrip(t *testing.T, recs []Record, w interface {
	Writer
}, buf *bytes.Buffer, read func(*bytes.Buffer) Reader) {
	t.Helper()
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			t.Fatalf("writing %+v: %v", rec, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	back, err := ReadAll(read(buf))
	if err != nil {
		t.Fatalf("reading back %q: %v", text, err)
	}
	if len(back) != len(recs) {
		t.Fatalf("%d records read back, want %d", len(back), len(recs))
	}
	for i := range recs {
		if !sameRecord(back[i], recs[i]) {
			t.Fatalf("record %d read back as %+v, want %+v", i, back[i], recs[i])
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("step,lr,loss\n0,0.1,2.5\n1,0.1,\n"), false)
	f.Add([]byte("loss,step\nnan,3\ninf,4\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, ignore bool) {
		recs := checkStream(t, NewCSVReader(bytes.NewReader(data), ReadOptions{Name: "fz.csv", IgnoreUnknown: ignore}))
		var all Field
		for _, r := range recs {
			all |= r.Present
		}
		var buf bytes.Buffer
		roundTrip(t, recs, NewCSVWriter(&buf, all), &buf, func(b *bytes.Buffer) Reader {
			return NewCSVReader(b, ReadOptions{Name: "back.csv"})
		})
	})
}

func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte(`{"step":0,"lr":0.1,"loss":2.5}`+"\n"+`{"step":1,"loss":NaN}`), false)
	f.Add([]byte(`{"step":2,"x":{"y":[1]},"loss":"Infinity"}`), true)
	f.Fuzz(func(t *testing.T, data []byte, ignore bool) {
		// The fast path agrees with the general one wherever it answers.
		j := NewJSONLReader(nil, ReadOptions{Name: "fz.jsonl", IgnoreUnknown: ignore})
		for _, line := range bytes.Split(data, []byte("\n")) {
			line = bytes.TrimSpace(line)
			fast, ok := j.parseLineFast(line)
			if !ok {
				continue
			}
			slow, err := j.parseLine(line)
			if err != nil || !sameRecord(fast, slow) {
				t.Fatalf("line %q: fast path %+v, general path %+v, %v", line, fast, slow, err)
			}
		}
		recs := checkStream(t, NewJSONLReader(bytes.NewReader(data), ReadOptions{Name: "fz.jsonl", IgnoreUnknown: ignore}))
		var buf bytes.Buffer
		roundTrip(t, recs, NewJSONLWriter(&buf), &buf, func(b *bytes.Buffer) Reader {
			return NewJSONLReader(b, ReadOptions{Name: "back.jsonl"})
		})
	})
}

// FuzzReadTFEvents reads data as an event file, or, when framed is set,
// as one Event message wrapped twice in valid TFRecord framing, so that the
// mutations reach the protobuf decoding past the CRC checks.
func FuzzReadTFEvents(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, framed bool) {
		if framed {
			data = append(frame(data), frame(data)...)
		}
		recs := checkStream(t, NewTFEventsReader(bytes.NewReader(data), ReadOptions{Name: "fz.tfevents"}))
		// Values are float32 in event files; written again they come back
		// exactly, since the reader widens float32 values exactly.
		for i := range recs {
			for _, fl := range recs[i].Present.Fields() {
				v, _ := recs[i].Value(fl)
				recs[i].Set(fl, widen32(float32(v)))
			}
			if recs[i].Has(FieldExamplesSeen) {
				// Set truncated the float; keep it exactly representable.
				recs[i].ExamplesSeen = int64(float32(recs[i].ExamplesSeen))
			}
		}
		var buf bytes.Buffer
		roundTrip(t, recs, NewTFEventWriter(&buf, TFEventOptions{WallTime: func() float64 { return 0 }}), &buf,
			func(b *bytes.Buffer) Reader { return NewTFEventsReader(b, ReadOptions{Name: "back"}) })
	})
}

// TestWriteFuzzSeeds writes the seed corpora under testdata/fuzz when
// RUNLOG_UPDATE_FIXTURES is set; otherwise it checks they are there.
func TestWriteFuzzSeeds(t *testing.T) {
	hand, _ := handFile()
	seeds := map[string][][]byte{
		"FuzzReadCSV": {
			[]byte("step,lr,loss\n50,8.75e-05,7.618656\n100,0.00017,6.455898\n"),
			[]byte("step,lr,loss,grad_norm,grad_norm_l1,param_norm,update_norm,effective_lr,val_loss,val_metric,examples_seen,wall_seconds\n0,1,2,3,4,5,6,7,8,9,10,11\n1,,,,,,,,,,,\n"),
			[]byte("step,loss\n0,nan\n1,inf\n2,-Infinity\n"),
			[]byte("step,loss\n5,1\n5,2\n"),
			[]byte("lr,loss\n0.1,1\n"),
			[]byte("step,\"lo\"\"ss\"\n0,1\n"),
			[]byte("\ufeffStep , LR\r\n1e3,0.1\r\n"),
		},
		"FuzzReadJSONL": {
			[]byte(`{"step":0,"lr":0.1,"loss":2.5}` + "\n" + `{"step":1,"loss":null,"val_loss":1}` + "\n"),
			[]byte(`{"step":0,"loss":NaN,"lr":-Infinity}` + "\n" + `{"step":1,"loss":"Infinity"}`),
			[]byte(`{"step":"3","examples_seen":"128","x":[1,{"a":"NaN"}]}`),
			[]byte(`{"step":0,"loss":1,"loss":2}`),
			[]byte("\n\n{\"step\":1e2}\n"),
		},
		"FuzzReadTFEvents": {hand, tensorboardLoggerFile, tensorflowRecords, hand[:len(hand)-7], hugeRecord()},
	}
	// Framed seeds: the hand-made Event messages.
	seeds["FuzzReadTFEvents"] = append(seeds["FuzzReadTFEvents"], handEvents...)
	for name, list := range seeds {
		dir := filepath.Join("testdata", "fuzz", name)
		for i, data := range list {
			var body string
			if name == "FuzzReadTFEvents" {
				body = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n", data, i >= 5)
			} else {
				body = fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n", data, i%2 == 1)
			}
			path := filepath.Join(dir, fmt.Sprintf("seed%02d", i))
			if os.Getenv("RUNLOG_UPDATE_FIXTURES") != "" {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			} else if got, err := os.ReadFile(path); err != nil || string(got) != body {
				t.Errorf("seed %s is missing or stale (%v); regenerate with RUNLOG_UPDATE_FIXTURES=1", path, err)
			}
		}
	}
}
