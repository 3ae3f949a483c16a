package runlog

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

func readJSONLString(t *testing.T, s string, opts ReadOptions) ([]Record, []Warning, error) {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "run.jsonl"
	}
	r := NewJSONLReader(strings.NewReader(s), opts)
	recs, err := ReadAll(r)
	return recs, r.Warnings(), err
}

func TestJSONLReaderValues(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Record
	}{
		{"plain", `{"step":0,"lr":0.1,"loss":2.5}` + "\n" + `{"loss":2.25,"step":1,"lr":0.1}` + "\n",
			[]Record{rec(0, 0.1, 2.5), rec(1, 0.1, 2.25)}},
		{"null and missing are absent", `{"step":0,"lr":0.1,"loss":null}` + "\n" + `{"step":1,"loss":3}`,
			[]Record{{Step: 0, LR: 0.1, Present: FieldLR}, {Step: 1, Loss: 3, Present: FieldLoss}}},
		{"blank lines and spaces", "\n  {\"step\": 2 , \"lr\": 1e-3}  \n\n",
			[]Record{{Step: 2, LR: 1e-3, Present: FieldLR}}},
		{"numbers as strings", `{"step":"3","loss":"0.5","examples_seen":"128"}`,
			[]Record{{Step: 3, Loss: 0.5, ExamplesSeen: 128, Present: FieldLoss | FieldExamplesSeen}}},
		{"integral float step", `{"step":4.0,"loss":1}`,
			[]Record{{Step: 4, Loss: 1, Present: FieldLoss}}},
		{"empty input", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := readJSONLString(t, tc.in, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if !sameRecord(got[i], tc.want[i]) {
					t.Errorf("record %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestJSONLNonFinite(t *testing.T) {
	in := `{"step":0,"loss":"NaN"}` + "\n" +
		`{"step":1,"loss":NaN,"val_loss":Infinity}` + "\n" + // Python's json.dumps
		`{"step":2,"loss":"-Infinity","lr":-Infinity}` + "\n" +
		`{"step":3,"loss":1,"lr":"nan"}` + "\n"
	got, warns, err := readJSONLString(t, in, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d records, want 4", len(got))
	}
	if !math.IsNaN(got[0].Loss) || !math.IsNaN(got[1].Loss) || !math.IsInf(got[1].ValLoss, 1) ||
		!math.IsInf(got[2].Loss, -1) || !math.IsInf(got[2].LR, -1) || !math.IsNaN(got[3].LR) || got[3].Loss != 1 {
		t.Errorf("values %+v", got)
	}
	want := []string{
		"run.jsonl:1: loss is NaN at step 0",
		"run.jsonl:2: loss is NaN at step 1",
		"run.jsonl:2: val_loss is +Inf at step 1",
		"run.jsonl:3: lr is -Inf at step 2",
		"run.jsonl:3: loss is -Inf at step 2",
		"run.jsonl:4: lr is NaN at step 3",
	}
	if len(warns) != len(want) {
		t.Fatalf("warnings %v, want %v", warns, want)
	}
	for i := range want {
		if warns[i].String() != want[i] {
			t.Errorf("warning %d = %q, want %q", i, warns[i].String(), want[i])
		}
	}
}

func TestQuoteBareNonFiniteLeavesStrings(t *testing.T) {
	in := `{"a":"NaN \"Infinity\"","b":NaN,"c":-Infinity,"d":Infinity}`
	want := `{"a":"NaN \"Infinity\"","b":"NaN","c":"-Infinity","d":"Infinity"}`
	if got := string(quoteBareNonFinite([]byte(in))); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestJSONLReaderErrors(t *testing.T) {
	tests := []struct {
		name, in, want, field string
	}{
		{"missing step", `{"loss":1}`, "run.jsonl:1: missing step key", "step"},
		{"null step", `{"step":null}`, "run.jsonl:1: step is null", "step"},
		{"negative step", "{\"step\":0}\n{\"step\":-3}", "run.jsonl:2: step -3 is negative", "step"},
		{"fractional step", `{"step":0.5}`, "run.jsonl:1: step 0.5 is not an integer", "step"},
		{"bool step", `{"step":true}`, "run.jsonl:1: step: want an integer, got true", "step"},
		{"steps go back", "{\"step\":5}\n\n{\"step\":4}", "run.jsonl:3: step 4 is not after the previous step 5 (line 1): steps must increase", "step"},
		{"unknown key", `{"step":0,"val_los":1}`, `run.jsonl:1: unknown key "val_los" (did you mean "val_loss"?)`, "val_los"},
		{"object value", `{"step":0,"loss":{"x":1}}`, "run.jsonl:1: loss: want a number, got an object", "loss"},
		{"bad string", `{"step":0,"loss":"high"}`, `run.jsonl:1: loss "high" is not a number`, "loss"},
		{"duplicate key", `{"step":0,"loss":1,"loss":2}`, `run.jsonl:1: key "loss" appears twice`, "loss"},
		{"not an object", `[1,2]`, "run.jsonl:1: want a JSON object, got an array", ""},
		{"invalid JSON", `{"step":0,`, "run.jsonl:1: invalid JSON: EOF", ""},
		{"trailing text", `{"step":0} x`, "run.jsonl:1: text after the JSON object", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readJSONLString(t, tc.in, ReadOptions{})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %q\nwant %q", err.Error(), tc.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.Field != tc.field {
				t.Errorf("field %q, want %q", pe.Field, tc.field)
			}
		})
	}
}

func TestJSONLIgnoreUnknown(t *testing.T) {
	in := `{"step":0,"epoch":1,"extra":{"a":[1,{"b":2}]},"loss":2,"tags":["x"]}`
	got, _, err := readJSONLString(t, in, ReadOptions{IgnoreUnknown: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !sameRecord(got[0], Record{Step: 0, Loss: 2, Present: FieldLoss}) {
		t.Fatalf("got %+v", got)
	}
}

func TestJSONLWriterRoundTrip(t *testing.T) {
	recs := []Record{
		{Step: 0, LR: 1e-3 / 3, Loss: 10.5, Present: FieldLR | FieldLoss},
		{Step: 1, LR: 0.1, Present: FieldLR},
		{Step: 5, Loss: math.NaN(), ValLoss: math.Inf(1), GradNorm: math.Inf(-1), Present: FieldLoss | FieldValLoss | FieldGradNorm},
		{Step: 9, ExamplesSeen: 1 << 40, WallSeconds: 12.25, Present: FieldExamplesSeen | FieldWallSeconds},
	}
	var buf bytes.Buffer
	w := NewJSONLWriter(&buf)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := `{"step":0,"lr":0.0003333333333333333,"loss":10.5}` + "\n" +
		`{"step":1,"lr":0.1}` + "\n" +
		`{"step":5,"loss":"NaN","grad_norm":"-Infinity","val_loss":"Infinity"}` + "\n" +
		`{"step":9,"examples_seen":1099511627776,"wall_seconds":12.25}` + "\n"
	if buf.String() != want {
		t.Fatalf("JSONL\n%s\nwant\n%s", buf.String(), want)
	}
	got, _, err := readJSONLString(t, buf.String(), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if !sameRecord(got[i], recs[i]) {
			t.Errorf("record %d read back as %+v, want %+v", i, got[i], recs[i])
		}
	}
	if err := w.Write(Record{Step: 10}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
}

func TestJSONLFastPathAgrees(t *testing.T) {
	j := NewJSONLReader(nil, ReadOptions{Name: "x"})
	tests := []struct {
		line string
		fast bool // whether the fast path should take it
	}{
		{`{"step":1,"lr":0.001,"loss":2.5}`, true},
		{` { "step" : 2 , "loss" : null , "val_loss":NaN, "lr":-Infinity } `, true},
		{`{"step":"3","loss":" 1.5 ","examples_seen":128}`, true},
		{`{"step":1e3,"loss":-0.0}`, true},
		{`{"step":01}`, false},
		{`{"step":1,"loss":1e400}`, false},
		{`{"step":1,"loss":.5}`, false},
		{`{"step":1,"loss":"a\"b"}`, false},
		{`{"step":1,"x":{"a":1}}`, false},
		{`{"step":1,"loss":1,}`, false},
		{`{"step":1}{"step":2}`, false},
		{`{}`, false},
		{`{"loss":1}`, false},
		{`{"step":1,"step":2}`, false},
		{`{"step":1,"loss":Infinityx}`, false},
		{`{"step":1,"épsilon":1}`, false},
	}
	for _, tc := range tests {
		fast, ok := j.parseLineFast([]byte(tc.line))
		if ok != tc.fast {
			t.Errorf("%s: fast path took it: %v, want %v", tc.line, ok, tc.fast)
		}
		if !ok {
			continue
		}
		slow, err := j.parseLine([]byte(tc.line))
		if err != nil || !sameRecord(fast, slow) {
			t.Errorf("%s: fast %+v, general %+v, %v", tc.line, fast, slow, err)
		}
	}
}
