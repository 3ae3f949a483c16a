package runlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// sameRecord compares records treating NaN as equal to NaN.
func sameRecord(a, b Record) bool {
	if a.Step != b.Step || a.Present != b.Present || a.ExamplesSeen != b.ExamplesSeen {
		return false
	}
	for _, f := range AllFields.Fields() {
		x, _ := a.Value(f)
		y, _ := b.Value(f)
		if !(x == y || (math.IsNaN(x) && math.IsNaN(y))) {
			return false
		}
	}
	return true
}

func readCSVString(t *testing.T, s string, opts ReadOptions) ([]Record, []Warning, error) {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "run.csv"
	}
	r := NewCSVReader(strings.NewReader(s), opts)
	recs, err := ReadAll(r)
	return recs, r.Warnings(), err
}

func rec(step int64, lr, loss float64) Record {
	return Record{Step: step, LR: lr, Loss: loss, Present: FieldLR | FieldLoss}
}

func TestCSVReaderValues(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Record
	}{
		{"epfl form", "step,lr,loss\n50,8.75e-05,7.618656\n100,0.00017,6.455898\n",
			[]Record{rec(50, 8.75e-05, 7.618656), rec(100, 0.00017, 6.455898)}},
		{"columns in any order", "loss,step,lr\n3.5,0,0.1\n",
			[]Record{rec(0, 0.1, 3.5)}},
		{"empty cell is absent", "step,lr,loss\n0,0.1,\n1,0.2,2.5\n",
			[]Record{{Step: 0, LR: 0.1, Present: FieldLR}, rec(1, 0.2, 2.5)}},
		{"header spaces, case and BOM", "\ufeffStep , LR,loss\n0, 0.1 ,1\n",
			[]Record{rec(0, 0.1, 1)}},
		{"integral float steps", "step,loss\n1e3,1\n2000.0,2\n",
			[]Record{{Step: 1000, Loss: 1, Present: FieldLoss}, {Step: 2000, Loss: 2, Present: FieldLoss}}},
		{"every field", "step,lr,loss,grad_norm,grad_norm_l1,param_norm,update_norm,effective_lr,val_loss,val_metric,examples_seen,wall_seconds\n" +
			"7,1,2,3,4,5,6,7,8,9,10,11\n",
			[]Record{{Step: 7, LR: 1, Loss: 2, GradNorm: 3, GradNormL1: 4, ParamNorm: 5, UpdateNorm: 6,
				EffectiveLR: 7, ValLoss: 8, ValMetric: 9, ExamplesSeen: 10, WallSeconds: 11, Present: AllFields}}},
		{"blank lines skipped", "step,loss\n\n0,1\n\n1,2\n",
			[]Record{{Step: 0, Loss: 1, Present: FieldLoss}, {Step: 1, Loss: 2, Present: FieldLoss}}},
		{"header only", "step,lr,loss\n", nil},
		{"CRLF line ends", "step,loss\r\n0,1\r\n", []Record{{Step: 0, Loss: 1, Present: FieldLoss}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := readCSVString(t, tc.in, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d records %+v, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if !sameRecord(got[i], tc.want[i]) {
					t.Errorf("record %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestCSVReaderErrors(t *testing.T) {
	tests := []struct {
		name, in, want, field string
	}{
		{"empty file", "", "run.csv:1: empty file: want a header line naming the columns, with a step column", "step"},
		{"missing step", "lr,loss\n0.1,2\n", `run.csv:1: missing step column (header is "lr,loss")`, "step"},
		{"unknown column", "step,lr,los\n0,1,2\n", `run.csv:1: unknown column "los" (did you mean "loss"?)`, "los"},
		{"alias hint", "step,learning_rate\n0,1\n", `run.csv:1: unknown column "learning_rate" (did you mean "lr"?)`, "learning_rate"},
		{"duplicate column", "step,loss,loss\n", `run.csv:1: column "loss" appears twice (columns 2 and 3)`, "loss"},
		{"non-integer step", "step,loss\n0,1\n1.5,2\n", "run.csv:3: step 1.5 is not an integer", "step"},
		{"text step", "step,loss\nten,1\n", `run.csv:2: step "ten" is not an integer`, "step"},
		{"negative step", "step,loss\n-1,1\n", "run.csv:2: step -1 is negative", "step"},
		{"empty step", "step,loss\n,1\n", "run.csv:2: empty step", "step"},
		{"repeated step", "step,loss\n0,1\n5,1\n5,2\n", "run.csv:4: step 5 is not after the previous step 5 (line 3): steps must increase", "step"},
		{"decreasing step", "step,loss\n10,1\n20,1\n15,2\n", "run.csv:4: step 15 is not after the previous step 20 (line 3): steps must increase", "step"},
		{"bad number", "step,lr,loss\n0,0.1,abc\n", `run.csv:2: loss "abc" is not a number`, "loss"},
		{"overflow", "step,lr\n0,1e999\n", "run.csv:2: lr 1e999 is out of float64 range", "lr"},
		{"too few columns", "step,lr,loss\n0,0.1,1\n1,0.1\n", "run.csv:3: wrong column count: 2 fields, the header has 3", ""},
		{"too many columns", "step,lr\n0,0.1,1\n", "run.csv:2: wrong column count: 3 fields, the header has 2", ""},
		{"bad examples_seen", "step,examples_seen\n0,1.5\n", "run.csv:2: examples_seen 1.5 is not an integer", "examples_seen"},
		{"bad quote", "step,loss\n0,\"1\n", "run.csv:2: extraneous or missing \" in quoted-field", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readCSVString(t, tc.in, ReadOptions{})
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

func TestCSVErrorIsSticky(t *testing.T) {
	r := NewCSVReader(strings.NewReader("step,loss\n1,1\n0,1\n2,1\n"), ReadOptions{Name: "x.csv"})
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
		t.Fatalf("errors %v then %v, want the same error twice", err1, err2)
	}
}

func TestCSVIgnoreUnknown(t *testing.T) {
	got, _, err := readCSVString(t, "step,epoch,loss,\n0,1,2.5,x\n", ReadOptions{IgnoreUnknown: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !sameRecord(got[0], Record{Step: 0, Loss: 2.5, Present: FieldLoss}) {
		t.Fatalf("got %+v", got)
	}
}

func TestCSVNonFiniteKeptAndFlagged(t *testing.T) {
	in := "step,lr,loss,val_loss\n0,0.1,2,\n1,0.1,nan,\n2,0.1,NaN,inf\n3,0.1,-Infinity,1\n4,0.1,1.5,\n"
	got, warns, err := readCSVString(t, in, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("got %d records, want 5: non-finite rows must be kept", len(got))
	}
	if !math.IsNaN(got[1].Loss) || !math.IsNaN(got[2].Loss) || !math.IsInf(got[2].ValLoss, 1) || !math.IsInf(got[3].Loss, -1) {
		t.Errorf("values not kept: %+v", got)
	}
	want := []string{
		"run.csv:3: loss is NaN at step 1",
		"run.csv:4: loss is NaN at step 2",
		"run.csv:4: val_loss is +Inf at step 2",
		"run.csv:5: loss is -Inf at step 3",
	}
	if len(warns) != len(want) {
		t.Fatalf("warnings %v, want %v", warns, want)
	}
	for i, w := range warns {
		if w.String() != want[i] {
			t.Errorf("warning %d = %q, want %q", i, w.String(), want[i])
		}
	}
	if warns[0].Step != 1 || warns[0].Field != FieldLoss || warns[0].Line != 3 {
		t.Errorf("warning fields %+v", warns[0])
	}
}

func TestOnWarningCallback(t *testing.T) {
	var got []string
	_, _, err := readCSVString(t, "step,loss\n0,nan\n", ReadOptions{OnWarning: func(w Warning) { got = append(got, w.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "run.csv:2: loss is NaN at step 0" {
		t.Fatalf("callback got %q", got)
	}
}

func TestCSVWriterRoundTrip(t *testing.T) {
	recs := []Record{
		{Step: 0, LR: 1e-3 / 3, Loss: 10.5, Present: FieldLR | FieldLoss},
		{Step: 1, LR: 0.1, Present: FieldLR},
		{Step: 5, LR: 0.1, Loss: math.NaN(), ValLoss: math.Inf(1), Present: FieldLR | FieldLoss | FieldValLoss},
		{Step: 9, LR: 5e-324, Loss: math.Copysign(0, -1), ExamplesSeen: 1 << 40, Present: FieldLR | FieldLoss | FieldExamplesSeen},
	}
	var buf bytes.Buffer
	w := NewCSVWriter(&buf, FieldLR|FieldLoss|FieldValLoss|FieldExamplesSeen)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "step,lr,loss,val_loss,examples_seen\n" +
		"0,0.0003333333333333333,10.5,,\n" +
		"1,0.1,,,\n" +
		"5,0.1,NaN,+Inf,\n" +
		"9,5e-324,-0,,1099511627776\n"
	if buf.String() != want {
		t.Fatalf("CSV\n%s\nwant\n%s", buf.String(), want)
	}
	got, _, err := readCSVString(t, buf.String(), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if !sameRecord(got[i], recs[i]) {
			t.Errorf("record %d read back as %+v, want %+v", i, got[i], recs[i])
		}
	}
}

func TestCSVWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	w := NewCSVWriter(&buf, FieldLoss)
	if err := w.Write(Record{Step: 0, LR: 1, Present: FieldLR}); err == nil || !strings.Contains(err.Error(), "has lr, which this CSV writer has no column for") {
		t.Errorf("missing column: %v", err)
	}
	if err := w.Write(Record{Step: 3}); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Record{Step: 3}); err == nil || !strings.Contains(err.Error(), "step 3 is not after the previous step 3") {
		t.Errorf("repeated step: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Record{Step: 4}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	var empty bytes.Buffer
	e := NewCSVWriter(&empty, FieldLR|FieldLoss)
	if err := e.Close(); err != nil || empty.String() != "step,lr,loss\n" {
		t.Errorf("empty log %q, %v", empty.String(), err)
	}
}

// TestEPFLLogs reads every curve of the shared EPFL data set as it is.
func TestEPFLLogs(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "losscurves", "epfml")
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.csv"))
	if len(files) == 0 {
		t.Skipf("no EPFL logs under %s", dir)
	}
	total := 0
	for _, path := range files {
		r, err := Open(path, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%v", err)
			}
			if !rec.Has(FieldLR|FieldLoss) || rec.Present != FieldLR|FieldLoss {
				t.Fatalf("%s: record %+v lacks lr or loss", path, rec)
			}
			n++
		}
		if len(r.Warnings()) != 0 {
			t.Errorf("%s: unexpected warnings %v", path, r.Warnings())
		}
		r.Close()
		raw, _ := os.ReadFile(path)
		if lines := bytes.Count(raw, []byte("\n")); n != lines-1 {
			t.Errorf("%s: %d records, file has %d lines after the header", path, n, lines-1)
		}
		total += n
	}
	t.Logf("%d files, %d records", len(files), total)
	// First rows of one file, checked by eye against the file.
	path := filepath.Join(dir, "train", "hagele2024-scaling__owt2_166M_L12E896__const_lr0.0005_T30000.csv")
	recs, err := ReadFile(path, ReadOptions{})
	if err != nil {
		t.Skip(err)
	}
	if !sameRecord(recs[0], rec(50, 8.75e-05, 7.618656)) || !sameRecord(recs[1], rec(100, 0.00017, 6.455898)) {
		t.Errorf("first records %+v %+v", recs[0], recs[1])
	}
}

func TestColumnMap(t *testing.T) {
	cols, err := ParseColumnMap("step=_step, loss=train/loss, lr=LR")
	if err != nil {
		t.Fatal(err)
	}
	csvIn := "_step,train/loss,LR,epoch\n0,2.5,0.1,1\n10,2.25,0.1,1\n"
	got, _, err := readCSVString(t, csvIn, ReadOptions{Columns: cols, IgnoreUnknown: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{rec(0, 0.1, 2.5), rec(10, 0.1, 2.25)}
	if len(got) != 2 || !sameRecord(got[0], want[0]) || !sameRecord(got[1], want[1]) {
		t.Errorf("CSV with renamed columns: %+v", got)
	}
	jsonIn := `{"_step":0,"train/loss":2.5,"LR":0.1}` + "\n" + `{"_step":10,"train/loss":"2.25","LR":0.1,"epoch":{"n":1}}`
	got, _, err = readJSONLString(t, jsonIn, ReadOptions{Columns: cols, IgnoreUnknown: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !sameRecord(got[0], want[0]) || !sameRecord(got[1], want[1]) {
		t.Errorf("JSONL with renamed keys: %+v", got)
	}
	for _, tc := range []struct{ in, want string }{
		{"", `column map "": empty, want name=column pairs such as step=_step`},
		{"step", `column map pair 1 "step": want name=column`},
		{"los=x", `column map pair 1 "los=x": unknown name "los" (did you mean "loss"?)`},
		{"lr=", `column map pair 1 "lr=": empty column`},
		{"lr=a,loss=a", `column map pair 2 "loss=a": column "a" is already renamed to lr`},
	} {
		if _, err := ParseColumnMap(tc.in); err == nil || err.Error() != tc.want {
			t.Errorf("ParseColumnMap(%q): %v, want %q", tc.in, err, tc.want)
		}
	}
}

// hugeCell yields a CSV log whose second line holds one cell of n bytes,
// without ever holding it in memory.
type hugeCell struct {
	head string
	n    int
}

func (h *hugeCell) Read(p []byte) (int, error) {
	if h.head != "" {
		k := copy(p, h.head)
		h.head = h.head[k:]
		return k, nil
	}
	if h.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), h.n)
	for i := range p[:k] {
		p[i] = '9'
	}
	h.n -= k
	return k, nil
}

// TestCSVHugeCellBounded: a 50 MB cell fails at its line with a short
// error, reading at most about one line's cap (it used to give a 52 MB
// error line and a 613 MB peak).
func TestCSVHugeCellBounded(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ReadAll(NewCSVReader(&hugeCell{head: "step,loss\n0,", n: 50 << 20}, ReadOptions{Name: "big.csv"}))
	runtime.ReadMemStats(&after)
	want := fmt.Sprintf("big.csv:2: line longer than %d bytes", maxLine)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %.200v, want %s", err, want)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*maxLine {
		t.Errorf("allocated %d MB reading a 50 MB cell", alloc>>20)
	}
	// A long bad cell under the cap is quoted in part.
	_, err = ReadAll(NewCSVReader(strings.NewReader("step,loss\n0,"+strings.Repeat("x", 5000)+"\n"), ReadOptions{Name: "x.csv"}))
	if err == nil || len(err.Error()) > 200 || !strings.Contains(err.Error(), `... (5000 bytes) is not a number`) {
		t.Errorf("err = %v", err)
	}
}
