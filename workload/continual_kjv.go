package workload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/lrkit/lrkit/train"
	"github.com/lrkit/lrkit/workload/data"
)

// kjvNewTestament is the first line of the New Testament in the KJV text
// (`bible -f`'s book abbreviation and verse).
var kjvNewTestament = []byte("\nMat1:1 ")

// KJVTestaments reads the KJV text and splits it at Matthew 1:1 into the
// Old and the New Testament, each split into training and validation
// streams as data.NewText splits a text, with token ids over the whole
// book's vocabulary (so one model reads both). If limit > 0, each
// testament is cut to its first limit bytes.
func KJVTestaments(limit int) (vocab []byte, old, new *data.Text, err error) {
	path, err := data.KJVPath()
	if err != nil {
		return nil, nil, nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil, fmt.Errorf("KJV text is missing (%s); prepare it with `%s`", path, data.FetchCommand)
		}
		return nil, nil, nil, err
	}
	i := bytes.Index(b, kjvNewTestament)
	if i < 0 {
		return nil, nil, nil, fmt.Errorf("%s: no line %q: is it the whole KJV?", path, bytes.TrimSpace(kjvNewTestament))
	}
	whole, err := data.NewText(b)
	if err != nil {
		return nil, nil, nil, err
	}
	var id [256]uint8
	for k, c := range whole.Vocab {
		id[c] = uint8(k)
	}
	parts := [2][]byte{b[:i+1], b[i+1:]}
	var texts [2]*data.Text
	for k, p := range parts {
		if limit > 0 && limit < len(p) {
			p = p[:limit]
		}
		t, err := data.NewText(p)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, s := range [][]uint8{t.Train, t.Val} {
			for j, tok := range s {
				s[j] = id[t.Vocab[tok]]
			}
		}
		t.Vocab = whole.Vocab
		texts[k] = t
	}
	return whole.Vocab, texts[0], texts[1], nil
}

// ContinualKJV is the continual workload "kjv-ot-then-nt": a kjv-gpt
// model of config c (Vocab is set from the text) trained on the Old
// Testament until o.SwitchAt, then on the New Testament (with o.Replay of
// each batch from the Old). Setup.Data is a *Phases whose validators
// measure the loss per character on each testament's validation chunks.
func ContinualKJV(o ContinualOptions, c GPTConfig, batch int) (*Workload, error) {
	if o.SwitchAt < 0 || !(o.Replay >= 0 && o.Replay <= 1) || batch <= 0 || c.Context <= 0 {
		return nil, fmt.Errorf("kjv-ot-then-nt: switch at %d, replay %v, batch %d, context %d: want a step ≥ 0, a fraction in [0, 1] and positive sizes", o.SwitchAt, o.Replay, batch, c.Context)
	}
	return &Workload{
		Name:        "kjv-ot-then-nt",
		Description: fmt.Sprintf("character-level transformer (width %d, %d layers, context %d) trained on the KJV Old Testament, then from step %d on the New Testament (replay %g of each batch from the Old)", c.Dim, c.Layers, c.Context, o.SwitchAt, o.Replay),
		Metric:      Loss, Target: 2.0, StepHint: 2 * max(o.SwitchAt, 500), DefaultBatch: batch,
		DefaultOptimizer: "adamw", DefaultPeak: 2e-3, WeightDecay: 0.01, ClipNorm: 1, EvalEvery: 100,
		build: func(ctx context.Context, w *Workload, bo Options) (*Setup, error) {
			vocab, ot, nt, err := KJVTestaments(bo.Limit)
			if err != nil {
				return nil, err
			}
			cc := c
			cc.Vocab = len(vocab)
			model, err := NewGPT(cc, modelRand(bo.Seed))
			if err != nil {
				return nil, err
			}
			var srcs []train.Data
			var vals []train.Validator
			for k, t := range []*data.Text{ot, nt} {
				src, err := NewTextSource(t.Train, bo.Batch, cc.Context, dataSeed(bo.Seed)+uint64(k))
				if err != nil {
					return nil, err
				}
				val, err := TextValidator(t.Val, cc.Context, kjvValWindows/2, 32)
				if err != nil {
					return nil, err
				}
				srcs, vals = append(srcs, src), append(vals, val)
			}
			s, err := phased(model, []string{"old-testament", "new-testament"}, srcs, vals, []int64{o.SwitchAt}, o.Replay, bo.Seed, len(ot.Train)+len(nt.Train))
			if err != nil {
				return nil, err
			}
			s.Val = len(ot.Val) + len(nt.Val)
			return s, nil
		},
	}, nil
}
