package control

import (
	"github.com/lrkit/lrkit/schedule"
)

// The controllers are kinds of the spec language: package schedule's
// parser, canonical formatter and JSON form read and write them, from the
// same struct tags as schedules (see schedule.Kind). They register when
// this package is imported, as database/sql drivers do.
func init() {
	for _, k := range kinds {
		schedule.Register(k)
	}
}

var kinds = []schedule.Kind{
	{Name: "plateau", Summary: "reduce a base schedule by a factor when a metric stops improving",
		Source: "PyTorch ReduceLROnPlateau (torch/optim/lr_scheduler.py)", Proto: &Plateau{}, Stateful: true},
	{Name: "hd", Summary: "hypergradient descent: the rate follows the alignment of consecutive gradients (SGD-HD)",
		Source: "Baydin et al. 2018, arXiv 1703.04782 (gbaydin/hypergradient-descent sgd_hd.py)", Proto: &HD{}, Stateful: true,
		Unverified: "multiplicative variant (mult=true) from memory of the paper"},
	{Name: "adam_hd", Summary: "hypergradient descent for Adam: as hd, fed with Adam's bias-corrected direction",
		Source: "Baydin et al. 2018, arXiv 1703.04782 (gbaydin/hypergradient-descent adam_hd.py)", Proto: &HD{Adam: true}, Stateful: true,
		Defaults:   map[string]string{"beta": "1e-08"}, // adam_hd.py's default β
		Unverified: "multiplicative variant (mult=true) from memory of the paper"},
	{Name: "fedhyper", Summary: "FedHyper global learning-rate rule for federated rounds (G, GM or server-side local)",
		Source: "Wang, Wang, Li, ICLR 2024, arXiv 2310.03156 (ATP-1010/FedHyper)", Proto: &FedHyper{}, Stateful: true},
	{Name: "autolrs", Summary: "AutoLRS: per stage, Bayesian optimisation of a constant rate over forecast losses of short trials",
		Source: "Jin et al., ICLR 2021, arXiv 2105.10762 (YuchenJin/autolrs)", Proto: &AutoLRS{}, Stateful: true,
		Unverified: "GP kernel hyperparameters (skopt defaults recalled); smoother is a robust moving median, not scipy's spline"},
}

// Kinds lists the controller kinds of the spec language, for `lrkit
// schedules` (schedule.Params lists their parameters). A plain schedule
// spec is also a controller (Fixed).
func Kinds() []schedule.Kind {
	var out []schedule.Kind
	for _, k := range schedule.Kinds() {
		if k.Stateful {
			out = append(out, k)
		}
	}
	return out
}

// Parse reads a controller spec, in the same language as schedules and by
// the same parser:
//
//	plateau(base=cosine(peak=0.1, steps=1000), factor=0.5, patience=3)
//	hd(lr=0.01, beta=1e-4)
//	autolrs(min=1e-5, max=1e-1)
//
// Any schedule spec is also accepted and gives a Fixed controller. Errors
// are *schedule.SpecError with the line and column and, for a misspelt
// name, the nearest one: `spec:1:9: unknown parameter "factr" for plateau
// (did you mean "factor"?)`. The returned controller is in its initial
// state; String returns canonical spec text that Parse reads back to an
// equal controller.
func Parse(spec string) (Controller, error) {
	return parse(spec, schedule.Options{Stateful: true})
}

// ParseUntrusted is Parse for text from an untrusted source (a request to
// the server, a study file): see schedule.ParseUntrusted.
func ParseUntrusted(spec string) (Controller, error) {
	return parse(spec, schedule.Options{Stateful: true, Untrusted: true})
}

func parse(spec string, o schedule.Options) (Controller, error) {
	s, err := schedule.ParseWith(spec, o)
	if err != nil {
		return nil, err
	}
	return Of(s), nil
}

// Of returns s as a controller: itself when it is one (a controller kind
// built by schedule.ParseWith), else a Fixed controller following it.
func Of(s schedule.Schedule) Controller {
	if c, ok := s.(Controller); ok {
		return c
	}
	return NewFixed(s)
}
