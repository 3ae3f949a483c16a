package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/lrkit/lrkit/train/optim"
)

// Checkpoint format: the 8-byte magic "LRKITCKP", a uint32 version and a
// uint64 payload length (little endian), the gob-encoded payload, and the
// SHA-256 of the payload.
const (
	checkpointMagic   = "LRKITCKP"
	checkpointVersion = 1
	maxCheckpointSize = 1 << 34
)

// ErrBadCheckpoint is wrapped by every error of Load, Rollback and
// LoadCheckpoint that comes from the checkpoint's content rather than from
// reading it: a file that is not a checkpoint (ErrNotCheckpoint), one of
// another format version, a truncated or corrupt one, or one of another
// model, optimizer, controller or horizon. A caller tells bad input from an
// I/O failure with errors.Is(err, ErrBadCheckpoint).
var ErrBadCheckpoint = errors.New("bad checkpoint")

// ErrNotCheckpoint is wrapped by the error of loading a file that is not an
// lrkit checkpoint at all (it does not start with the checkpoint magic, or
// is shorter than a checkpoint's header). Such an error also matches
// ErrBadCheckpoint.
var ErrNotCheckpoint error = &kindError{msg: "not an lrkit checkpoint", parent: ErrBadCheckpoint}

// kindError is a sentinel error that is also a kind of its parent.
type kindError struct {
	msg    string
	parent error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.parent }

// bad marks a load error as bad input: it reads "checkpoint: " and the
// message (fmt.Errorf's format, %w included) and wraps ErrBadCheckpoint as
// well as any error the format wraps.
func bad(format string, args ...any) error {
	return &badError{err: fmt.Errorf(format, args...)}
}

// badError is an error about a checkpoint's content.
type badError struct{ err error }

func (e *badError) Error() string   { return "checkpoint: " + e.err.Error() }
func (e *badError) Unwrap() []error { return []error{ErrBadCheckpoint, e.err} }

type paramState struct {
	Name  string
	Shape []int
	Data  []float32
}

type checkpoint struct {
	Step, Examples int64
	Wall           float64
	Params         []paramState
	OptimizerName  string
	Optimizer      []byte
	Data           []byte
	ControllerSpec string
	HasController  bool
	Controller     []byte
	RNG            []byte
	InitNorms      []float64
	Stats          []LayerStat
	Dir            [][]float32 // the last update direction, when kept
}

// Save writes a checkpoint: parameters, optimizer state, step, data
// position, controller state, RNG state and NaP telemetry. Load on a
// trainer built from the same configuration continues with the identical
// next step.
func (t *Trainer) Save(w io.Writer) error { return t.save(w, true) }

// Snapshot returns the trainer's state without the controller's: for a
// controller such as AutoLRS that tries candidate rates from a snapshot and
// rolls back, while keeping what it learned.
func (t *Trainer) Snapshot() ([]byte, error) {
	var b bytes.Buffer
	if err := t.save(&b, false); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Rollback restores a Snapshot: parameters, optimizer, step, data position,
// RNG and telemetry. The controller's state and the wall time are kept
// (time spent in rolled-back steps still counts as compute).
func (t *Trainer) Rollback(snapshot []byte) error {
	return t.load(bytes.NewReader(snapshot), false)
}

func (t *Trainer) save(w io.Writer, withController bool) error {
	c := checkpoint{Step: t.step, Examples: t.examples, Wall: t.wall,
		OptimizerName: t.cfg.Optimizer.Name(), ControllerSpec: t.cfg.Controller.String(),
		InitNorms: t.init, Stats: t.stats, Dir: t.dir}
	if sw, ok := t.cfg.Optimizer.(optim.EvalSwapper); ok {
		// Parameters hold the training point between steps; make sure.
		sw.SwapToTrain(t.params)
	}
	for _, p := range t.params {
		c.Params = append(c.Params, paramState{Name: p.Name, Shape: p.W.Shape, Data: p.W.Data})
	}
	var err error
	if c.Optimizer, err = t.cfg.Optimizer.MarshalBinary(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if c.Data, err = t.cfg.Data.State(); err != nil {
		return fmt.Errorf("checkpoint: data position: %w", err)
	}
	if withController {
		c.HasController = true
		if c.Controller, err = t.cfg.Controller.State(); err != nil {
			return fmt.Errorf("checkpoint: controller state: %w", err)
		}
	}
	if c.RNG, err = t.pcg.MarshalBinary(); err != nil {
		return fmt.Errorf("checkpoint: rng state: %w", err)
	}
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(&c); err != nil {
		return fmt.Errorf("checkpoint: encode: %w", err)
	}
	head := make([]byte, 20)
	copy(head, checkpointMagic)
	binary.LittleEndian.PutUint32(head[8:], checkpointVersion)
	binary.LittleEndian.PutUint64(head[12:], uint64(payload.Len()))
	sum := sha256.Sum256(payload.Bytes())
	for _, b := range [][]byte{head, payload.Bytes(), sum[:]} {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("checkpoint: write: %w", err)
		}
	}
	return nil
}

// Load restores a checkpoint written by Save into a trainer built from the
// same configuration (model architecture, optimizer kind and controller
// spec). It checks the format, version, checksum, and that every parameter
// matches by name and shape before changing anything; if restoring the
// optimizer, data, controller or RNG state then fails, the trainer is in
// an undefined state and must not be used.
func (t *Trainer) Load(r io.Reader) error { return t.load(r, true) }

func (t *Trainer) load(r io.Reader, withController bool) error {
	head := make([]byte, 20)
	if k, err := io.ReadFull(r, head); errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("checkpoint: %w (%d bytes, shorter than the %d-byte header)", ErrNotCheckpoint, k, len(head))
	} else if err != nil {
		return fmt.Errorf("checkpoint: read header: %w", err)
	}
	if string(head[:8]) != checkpointMagic {
		return fmt.Errorf("checkpoint: %w (bad magic)", ErrNotCheckpoint)
	}
	if v := binary.LittleEndian.Uint32(head[8:]); v != checkpointVersion {
		return bad("version %d, this build reads version %d", v, checkpointVersion)
	}
	n := binary.LittleEndian.Uint64(head[12:])
	if n > maxCheckpointSize {
		return bad("payload length %d is implausible", n)
	}
	// Read through a limit rather than allocating n bytes up front, so a
	// corrupt length cannot claim memory the file does not have.
	payload, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return fmt.Errorf("checkpoint: read payload of %d bytes: %w", n, err)
	}
	if uint64(len(payload)) != n {
		return bad("payload is %d bytes, header says %d (truncated file)", len(payload), n)
	}
	var sum [sha256.Size]byte
	if _, err := io.ReadFull(r, sum[:]); errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return bad("read checksum: %w (truncated file)", err)
	} else if err != nil {
		return fmt.Errorf("checkpoint: read checksum: %w", err)
	}
	if sha256.Sum256(payload) != sum {
		return bad("checksum mismatch (file corrupt)")
	}
	return t.apply(payload, withController)
}

// apply restores a checkpoint payload whose frame has been checked.
func (t *Trainer) apply(payload []byte, withController bool) error {
	var c checkpoint
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&c); err != nil {
		return bad("decode: %w", err)
	}
	if err := t.compatible(&c); err != nil {
		return err
	}
	if withController && !c.HasController {
		return bad("a snapshot without controller state cannot be loaded as a checkpoint; use Rollback")
	}
	// Restore the parts that can fail before touching the parameters. The
	// checksum holds, so a state that does not restore is one this
	// trainer cannot take: bad input too.
	if err := t.cfg.Optimizer.UnmarshalBinary(c.Optimizer); err != nil {
		return bad("%w", err)
	}
	if err := t.cfg.Data.Restore(c.Data); err != nil {
		return bad("data position: %w", err)
	}
	if withController {
		if err := t.cfg.Controller.Restore(c.Controller); err != nil {
			return bad("controller state: %w", err)
		}
	}
	if err := t.pcg.UnmarshalBinary(c.RNG); err != nil {
		return bad("rng state: %w", err)
	}
	for i, p := range t.params {
		copy(p.W.Data, c.Params[i].Data)
	}
	t.step, t.examples = c.Step, c.Examples
	if withController {
		t.wall = c.Wall
	}
	t.dir = c.Dir
	copy(t.init, c.InitNorms)
	copy(t.stats, c.Stats)
	return nil
}

// compatible checks that checkpoint c fits this trainer.
func (t *Trainer) compatible(c *checkpoint) error {
	if len(c.Params) != len(t.params) {
		return bad("%d parameters, the model has %d", len(c.Params), len(t.params))
	}
	for i, p := range t.params {
		q := c.Params[i]
		if q.Name != p.Name || !slices.Equal(q.Shape, p.W.Shape) || len(q.Data) != p.W.Len() {
			return bad("parameter %d is %s%v, the model has %s%v", i, q.Name, q.Shape, p.Name, p.W.Shape)
		}
	}
	if c.OptimizerName != t.cfg.Optimizer.Name() {
		return bad("optimizer %s, the trainer has %s", c.OptimizerName, t.cfg.Optimizer.Name())
	}
	if c.ControllerSpec != t.cfg.Controller.String() {
		return bad("controller %q, the trainer has %q", c.ControllerSpec, t.cfg.Controller.String())
	}
	if len(c.InitNorms) != len(t.init) || len(c.Stats) != len(t.stats) {
		return bad("%d scale-invariant parameters, the model has %d", len(c.InitNorms), len(t.init))
	}
	if c.Dir != nil {
		if len(c.Dir) != len(t.params) {
			return bad("update direction for %d parameters, the model has %d", len(c.Dir), len(t.params))
		}
		for i, p := range t.params {
			if len(c.Dir[i]) != p.W.Len() {
				return bad("update direction %d has %d values, parameter %s has %d", i, len(c.Dir[i]), p.Name, p.W.Len())
			}
		}
	}
	if c.Step < 0 || c.Step > t.cfg.Steps {
		return bad("step %d is outside this run's 0..%d", c.Step, t.cfg.Steps)
	}
	return nil
}
