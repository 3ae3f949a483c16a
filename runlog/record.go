// Package runlog holds the one record type every part of lrkit reads and
// writes, a training step's learning rate, loss, gradient norms, validation
// results and time, and streaming readers and writers for run logs.
package runlog

// Field names one value of a Record. A Record says which of its values are
// present with a set of Fields, so a log that carries the learning rate at
// every step and the loss only at some loses nothing and invents nothing.
type Field uint16

// The fields of a Record besides Step, which is always present.
const (
	FieldLR Field = 1 << iota
	FieldLoss
	FieldGradNorm
	FieldGradNormL1
	FieldParamNorm
	FieldUpdateNorm
	FieldEffectiveLR
	FieldValLoss
	FieldValMetric
	FieldExamplesSeen
	FieldWallSeconds
)

// Record is what a training run did at one optimizer step: Step is the
// 0-based update index and LR the rate used by that update. Values whose
// Field is not in Present are absent and read as zero. A present value may
// be NaN or infinite (a diverged loss): it is kept as it is.
type Record struct {
	Step         int64
	LR           float64
	Loss         float64
	GradNorm     float64 // L2 norm of the gradient
	GradNormL1   float64 // L1 norm of the gradient
	ParamNorm    float64 // L2 norm of all parameters
	UpdateNorm   float64 // L2 norm of the applied update
	EffectiveLR  float64 // median effective rate over scale-invariant layers
	ValLoss      float64
	ValMetric    float64
	ExamplesSeen int64
	WallSeconds  float64 // training time so far, evaluation excluded
	Present      Field
}

// Has reports whether all fields in f are present.
func (r Record) Has(f Field) bool { return r.Present&f == f }
