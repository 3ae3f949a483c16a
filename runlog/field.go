package runlog

import (
	"fmt"
	"github.com/lrkit/lrkit/internal/textmatch"
	"math"
	"strings"
)

// Column and key names of the run-log formats, one per Record value. The CSV
// header and the JSONL keys use exactly these names.
const (
	NameStep         = "step"
	NameLR           = "lr"
	NameLoss         = "loss"
	NameGradNorm     = "grad_norm"
	NameGradNormL1   = "grad_norm_l1"
	NameParamNorm    = "param_norm"
	NameUpdateNorm   = "update_norm"
	NameEffectiveLR  = "effective_lr"
	NameValLoss      = "val_loss"
	NameValMetric    = "val_metric"
	NameExamplesSeen = "examples_seen"
	NameWallSeconds  = "wall_seconds"
)

// AllFields is every optional field of a Record, in column order.
const AllFields = FieldLR | FieldLoss | FieldGradNorm | FieldGradNormL1 |
	FieldParamNorm | FieldUpdateNorm | FieldEffectiveLR | FieldValLoss |
	FieldValMetric | FieldExamplesSeen | FieldWallSeconds

// fieldInfo is the fixed table behind Field's names; it is never written.
var fieldInfo = [...]struct {
	f    Field
	name string
}{
	{FieldLR, NameLR},
	{FieldLoss, NameLoss},
	{FieldGradNorm, NameGradNorm},
	{FieldGradNormL1, NameGradNormL1},
	{FieldParamNorm, NameParamNorm},
	{FieldUpdateNorm, NameUpdateNorm},
	{FieldEffectiveLR, NameEffectiveLR},
	{FieldValLoss, NameValLoss},
	{FieldValMetric, NameValMetric},
	{FieldExamplesSeen, NameExamplesSeen},
	{FieldWallSeconds, NameWallSeconds},
}

// Fields lists the single fields of the set f in column order.
func (f Field) Fields() []Field {
	var out []Field
	for _, fi := range fieldInfo {
		if f&fi.f != 0 {
			out = append(out, fi.f)
		}
	}
	return out
}

// String returns the column name of a single field ("loss"), or the names of
// a set joined by "|" ("lr|loss"); the empty set is "none".
func (f Field) String() string {
	if f == 0 {
		return "none"
	}
	var names []string
	rest := f
	for _, fi := range fieldInfo {
		if f&fi.f != 0 {
			names = append(names, fi.name)
			rest &^= fi.f
		}
	}
	if rest != 0 {
		names = append(names, fmt.Sprintf("Field(%#x)", uint16(rest)))
	}
	return strings.Join(names, "|")
}

// FieldByName returns the field whose column name is name ("grad_norm").
// The step has no Field: FieldByName("step") reports false.
func FieldByName(name string) (Field, bool) {
	for _, fi := range fieldInfo {
		if fi.name == name {
			return fi.f, true
		}
	}
	return 0, false
}

// Value returns the value of the single field f and whether it is present.
// ExamplesSeen is converted to float64.
func (r Record) Value(f Field) (float64, bool) {
	var v float64
	switch f {
	case FieldLR:
		v = r.LR
	case FieldLoss:
		v = r.Loss
	case FieldGradNorm:
		v = r.GradNorm
	case FieldGradNormL1:
		v = r.GradNormL1
	case FieldParamNorm:
		v = r.ParamNorm
	case FieldUpdateNorm:
		v = r.UpdateNorm
	case FieldEffectiveLR:
		v = r.EffectiveLR
	case FieldValLoss:
		v = r.ValLoss
	case FieldValMetric:
		v = r.ValMetric
	case FieldExamplesSeen:
		v = float64(r.ExamplesSeen)
	case FieldWallSeconds:
		v = r.WallSeconds
	default:
		return 0, false
	}
	return v, r.Present&f != 0
}

// Set stores v in the single field f and marks it present. ExamplesSeen
// takes v truncated to an integer. Set panics if f is not a single field,
// which is a programming error.
func (r *Record) Set(f Field, v float64) {
	switch f {
	case FieldLR:
		r.LR = v
	case FieldLoss:
		r.Loss = v
	case FieldGradNorm:
		r.GradNorm = v
	case FieldGradNormL1:
		r.GradNormL1 = v
	case FieldParamNorm:
		r.ParamNorm = v
	case FieldUpdateNorm:
		r.UpdateNorm = v
	case FieldEffectiveLR:
		r.EffectiveLR = v
	case FieldValLoss:
		r.ValLoss = v
	case FieldValMetric:
		r.ValMetric = v
	case FieldExamplesSeen:
		r.ExamplesSeen = int64(v)
	case FieldWallSeconds:
		r.WallSeconds = v
	default:
		panic(fmt.Sprintf("runlog: Record.Set of %v, not a single field", f))
	}
	r.Present |= f
}

// Clear marks the fields in f absent and zeroes their values.
func (r *Record) Clear(f Field) {
	for _, one := range f.Fields() {
		r.Set(one, 0)
	}
	r.Present &^= f
}

// nonFinite returns the fields of r that are present and NaN or infinite.
func (r Record) nonFinite() Field {
	var bad Field
	for _, fi := range fieldInfo {
		if fi.f == FieldExamplesSeen {
			continue
		}
		if v, ok := r.Value(fi.f); ok && (math.IsNaN(v) || math.IsInf(v, 0)) {
			bad |= fi.f
		}
	}
	return bad
}

// columnAliases are names other tools use for lrkit's columns; they only
// feed the "did you mean" hint of an unknown-column error.
var columnAliases = map[string]string{
	"learning_rate": NameLR,
	"learningrate":  NameLR,
	"train_loss":    NameLoss,
	"training_loss": NameLoss,
	"iteration":     NameStep,
	"iter":          NameStep,
	"global_step":   NameStep,
	"it":            NameStep,
	"valid_loss":    NameValLoss,
	"eval_loss":     NameValLoss,
	"val_acc":       NameValMetric,
	"val_accuracy":  NameValMetric,
	"grad_l2":       NameGradNorm,
	"time":          NameWallSeconds,
	"wall_time":     NameWallSeconds,
	"samples":       NameExamplesSeen,
}

// nearestName returns the known column name closest to name, for hints.
func nearestName(name string) string {
	lower := strings.ToLower(name)
	if a, ok := columnAliases[lower]; ok {
		return a
	}
	best, bestD := NameStep, textmatch.Distance(lower, NameStep)
	for _, fi := range fieldInfo {
		if d := textmatch.Distance(lower, fi.name); d >= 0 && (bestD < 0 || d < bestD) {
			best, bestD = fi.name, d
		}
	}
	return best
}
