package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lrkit/lrkit/control"
	"github.com/lrkit/lrkit/runlog"
	"github.com/lrkit/lrkit/schedule"
	"github.com/lrkit/lrkit/train/nn"
	"github.com/lrkit/lrkit/train/optim"
)

// linearDecay is a test schedule: peak·(1 − t/T).
type linearDecay struct {
	peak  float64
	total int64
}

func (l linearDecay) LR(t int64) float64 { return l.peak * (1 - float64(t)/float64(l.total)) }
func (l linearDecay) String() string     { return "test-linear" }

var _ schedule.Schedule = linearDecay{}

// testModel is Dense → LayerNorm → ReLU → Dense; the first weight is
// scale-invariant (a LayerNorm follows it). hidden ≥ 256 makes gonum's
// Gemm run in parallel.
func testModel(seed uint64, d, hidden, classes int) nn.Layer {
	rng := rand.New(rand.NewPCG(seed, 7))
	d1 := nn.NewDense("fc1", d, hidden, rng)
	d1.W.ScaleInvariant = true
	return nn.NewSequential(d1, nn.NewLayerNorm("ln", hidden), &nn.ReLU{}, nn.NewDense("fc2", hidden, classes, rng))
}

func validator(data *synthetic, n int) Validator {
	x := nn.NewTensor(n, data.d)
	copy(x.Data, data.x[:n*data.d])
	labels := data.y[:n]
	return func(ctx context.Context, m nn.Layer) (float64, float64, error) {
		out, err := m.Forward(x)
		if err != nil {
			return 0, 0, err
		}
		var ce nn.SoftmaxCrossEntropy
		l, err := ce.Loss(out, labels)
		return l, float64(nn.Correct(out, labels)) / float64(n), err
	}
}

type setup struct {
	opt    func() optim.Optimizer
	nap    bool
	clip   float64
	hidden int
}

// newRun builds a trainer whose records go to *recs.
func newRun(t *testing.T, s setup, steps int64, recs *[]runlog.Record) *Trainer {
	t.Helper()
	data := newSynthetic(11, 512, 32, 5, 64)
	tr, err := New(Config{
		Model: testModel(3, 32, s.hidden, 5), Data: data, Optimizer: s.opt(),
		Controller: control.NewFixed(linearDecay{0.05, steps}), Steps: steps,
		ValEvery: 4, Validate: validator(data, 128), ClipNorm: s.clip, NaP: s.nap, Seed: 5,
		OnRecord: func(r runlog.Record) error { *recs = append(*recs, r); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// sameRecords compares records bit for bit, WallSeconds aside (time is
// not repeatable).
func sameRecords(t *testing.T, a, b []runlog.Record) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d records vs %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		x.WallSeconds, y.WallSeconds = 0, 0
		if x != y {
			t.Fatalf("record %d differs:\n%+v\n%+v", i, a[i], b[i])
		}
	}
}

var setups = map[string]setup{
	"adamw-nap":   {opt: func() optim.Optimizer { return optim.NewAdamW(0.01) }, nap: true, hidden: 256},
	"sgd-clip":    {opt: func() optim.Optimizer { return &optim.SGD{Momentum: 0.9, Nesterov: true} }, clip: 0.5, hidden: 64},
	"sf-adamw":    {opt: func() optim.Optimizer { return optim.NewScheduleFreeAdamW(0.01) }, hidden: 64},
	"prodigy-nap": {opt: func() optim.Optimizer { return optim.NewProdigy(0) }, nap: true, hidden: 64},
}

func TestRepeatable(t *testing.T) {
	for name, s := range setups {
		t.Run(name, func(t *testing.T) {
			var a, b []runlog.Record
			if err := newRun(t, s, 12, &a).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := newRun(t, s, 12, &b).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			sameRecords(t, a, b)
			if a[0].Loss == a[11].Loss {
				t.Error("loss did not change")
			}
		})
	}
}

// TestResume: N steps in one go equal k steps, a checkpoint, and N−k steps
// on a freshly built trainer, record for record, bit for bit.
func TestResume(t *testing.T) {
	const n, k = 12, 5
	for name, s := range setups {
		t.Run(name, func(t *testing.T) {
			var full, part []runlog.Record
			if err := newRun(t, s, n, &full).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			first := newRun(t, s, n, &part)
			for i := 0; i < k; i++ {
				if _, err := first.Step(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			var ckpt bytes.Buffer
			if err := first.Save(&ckpt); err != nil {
				t.Fatal(err)
			}
			second := newRun(t, s, n, &part)
			if err := second.Load(bytes.NewReader(ckpt.Bytes())); err != nil {
				t.Fatal(err)
			}
			if second.StepsDone() != k {
				t.Fatalf("resumed at step %d, want %d", second.StepsDone(), k)
			}
			if err := second.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			sameRecords(t, full, part)
			if part[n-1].WallSeconds < part[k-1].WallSeconds {
				t.Error("wall time went backwards over the resume")
			}
		})
	}
}

func TestCheckpointErrors(t *testing.T) {
	var recs []runlog.Record
	s := setups["adamw-nap"]
	tr := newRun(t, s, 6, &recs)
	if _, err := tr.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tr.Save(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	corrupt := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 1
		return b
	}
	otherModel := func() *Trainer {
		data := newSynthetic(11, 512, 32, 5, 64)
		tr, err := New(Config{Model: testModel(3, 32, 128, 5), Data: data, Optimizer: optim.NewAdamW(0.01),
			Controller: control.NewFixed(linearDecay{0.05, 6}), Steps: 6})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	cases := []struct {
		name string
		tr   *Trainer
		data []byte
		want string
	}{
		{"magic", newRun(t, s, 6, &recs), corrupt(0), "bad magic"},
		{"version", newRun(t, s, 6, &recs), corrupt(8), "version 0"},
		{"payload", newRun(t, s, 6, &recs), corrupt(100), "checksum mismatch"},
		{"truncated", newRun(t, s, 6, &recs), good[:len(good)-10], "read checksum"},
		{"shape", otherModel(), good, "parameter 0 is fc1.w[32 256], the model has fc1.w[32 128]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.tr.Load(bytes.NewReader(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if c.tr.StepsDone() != 0 {
				t.Error("failed load changed the step")
			}
		})
	}
}

func TestRecords(t *testing.T) {
	var recs []runlog.Record
	tr := newRun(t, setups["sgd-clip"], 10, &recs)
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := runlog.FieldLR | runlog.FieldLoss | runlog.FieldGradNorm | runlog.FieldGradNormL1 |
		runlog.FieldParamNorm | runlog.FieldUpdateNorm | runlog.FieldExamplesSeen | runlog.FieldWallSeconds | runlog.FieldEffectiveLR
	for i, r := range recs {
		want := base
		if i == 3 || i == 7 || i == 9 { // every 4th step and the last
			want |= runlog.FieldValLoss | runlog.FieldValMetric
		}
		if r.Present != want || r.Step != int64(i) {
			t.Errorf("record %d: step %d, fields %b, want %b", i, r.Step, r.Present, want)
		}
		if r.ExamplesSeen != int64(64*(i+1)) {
			t.Errorf("record %d: %d examples seen", i, r.ExamplesSeen)
		}
		if want := 0.05 * (1 - float64(i)/10); r.LR != want {
			t.Errorf("record %d: lr %v, want %v", i, r.LR, want)
		}
		if r.GradNormL1 < r.GradNorm || r.UpdateNorm <= 0 || r.ParamNorm <= 0 {
			t.Errorf("record %d: implausible norms %+v", i, r)
		}
		// With clipping at 0.5 and plain momentum the update is at most
		// lr·(clip + 0.9·|b|); a loose check that clipping happened:
		if i == 0 && r.UpdateNorm > 0.05*0.5*1.9+1e-6 {
			t.Errorf("first update %v exceeds lr·clip·(1+μ)", r.UpdateNorm)
		}
		if i > 0 && r.WallSeconds < recs[i-1].WallSeconds {
			t.Errorf("record %d: wall time decreased", i)
		}
	}
	if last := recs[9]; last.ValMetric < 0.3 {
		t.Errorf("validation accuracy %v after 10 steps, want above chance (0.2) by a margin", last.ValMetric)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var recs []runlog.Record
	tr := newRun(t, setups["sf-adamw"], 20, &recs)
	tr.cfg.OnRecord = func(r runlog.Record) error {
		recs = append(recs, r)
		if r.Step == 3 {
			cancel()
		}
		return nil
	}
	err := tr.Run(ctx)
	if !errors.Is(err, context.Canceled) || tr.StepsDone() != 4 || len(recs) != 4 {
		t.Fatalf("err %v after %d steps and %d records, want Canceled after 4", err, tr.StepsDone(), len(recs))
	}
}

func TestDiverged(t *testing.T) {
	var recs []runlog.Record
	data := newSynthetic(11, 512, 32, 5, 64)
	tr, err := New(Config{Model: testModel(3, 32, 64, 5), Data: data, Optimizer: &optim.SGD{},
		Controller: control.NewFixed(linearDecay{1e30, 100}), Steps: 100,
		OnRecord: func(r runlog.Record) error { recs = append(recs, r); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Run(context.Background())
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("got %v, want ErrDiverged", err)
	}
	last := recs[len(recs)-1]
	if !math.IsNaN(last.Loss) && !math.IsInf(last.Loss, 0) {
		t.Errorf("last record loss %v, want the non-finite loss kept", last.Loss)
	}
}

// emptyData serves batches without inputs.
type emptyData struct{ fixedData }

func (*emptyData) Next(b *Batch) error { *b = Batch{}; return nil }

func TestEmptyBatch(t *testing.T) {
	tr, err := New(Config{Model: testModel(1, 4, 8, 2), Data: &emptyData{}, Optimizer: optim.NewAdam(),
		Controller: control.NewFixed(linearDecay{0.1, 10}), Steps: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(context.Background()); err == nil || err.Error() != "train: data for step 0: empty batch" {
		t.Errorf("got %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	data := newSynthetic(1, 16, 4, 2, 4)
	ok := Config{Model: testModel(1, 4, 8, 2), Data: data, Optimizer: optim.NewAdam(),
		Controller: control.NewFixed(linearDecay{0.1, 10}), Steps: 10}
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"model", func(c *Config) { c.Model = nil }, "train: config has no Model"},
		{"steps", func(c *Config) { c.Steps = 0 }, "train: Steps is 0, want > 0"},
		{"validate", func(c *Config) { c.ValEvery = 5 }, "train: ValEvery is 5 but Validate is nil"},
		{"clip", func(c *Config) { c.ClipNorm = -1 }, "train: ClipNorm is -1, want ≥ 0"},
	}
	for _, c := range cases {
		cfg := ok
		c.edit(&cfg)
		if _, err := New(cfg); err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	bad := ok
	bad.Controller = control.NewFixed(linearDecay{math.NaN(), 10})
	tr, err := New(bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(context.Background()); err == nil || !strings.Contains(err.Error(), "learning rate NaN at step 0") {
		t.Errorf("NaN rate: got %v", err)
	}
}

// TestScheduleFreeEvalPoint: validation sees x, training continues at y.
func TestScheduleFreeEvalPoint(t *testing.T) {
	var recs []runlog.Record
	tr := newRun(t, setups["sf-adamw"], 8, &recs)
	var seen float32
	tr.cfg.Validate = func(ctx context.Context, m nn.Layer) (float64, float64, error) {
		seen = m.Params()[0].W.Data[0]
		return 0, 0, nil
	}
	for i := 0; i < 4; i++ {
		if _, err := tr.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	y := tr.Params()[0].W.Data[0]
	if seen == y {
		t.Errorf("validation saw the training point y = %v, want x", y)
	}
	if _, _, err := tr.Evaluate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tr.Params()[0].W.Data[0] != y {
		t.Error("evaluation did not restore y")
	}
}

// countingController is a Fixed schedule that counts observations, to see
// that Rollback keeps the controller's state.
type countingController struct {
	*control.Fixed
	seen int
}

func (c *countingController) Observe(runlog.Record) { c.seen++ }

// TestSnapshotRollback: steps after a rollback repeat the records after the
// snapshot exactly, and the controller keeps what it observed.
func TestSnapshotRollback(t *testing.T) {
	var recs []runlog.Record
	tr := newRun(t, setups["adamw-nap"], 12, &recs)
	ctrl := &countingController{Fixed: control.NewFixed(linearDecay{0.05, 12})}
	tr.cfg.Controller = ctrl
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := tr.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := tr.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, err := tr.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wall := tr.wall
	if err := tr.Rollback(snap); err != nil {
		t.Fatal(err)
	}
	if tr.StepsDone() != 3 || ctrl.seen != 7 || tr.wall != wall {
		t.Fatalf("after rollback: step %d, controller saw %d, wall %v (was %v); want 3, 7, unchanged", tr.StepsDone(), ctrl.seen, tr.wall, wall)
	}
	for i := 0; i < 4; i++ {
		if _, err := tr.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sameRecords(t, recs[3:7], recs[7:11])
	if err := tr.Load(bytes.NewReader(snap)); err == nil || !strings.Contains(err.Error(), "use Rollback") {
		t.Errorf("Load of a snapshot: got %v", err)
	}
}
