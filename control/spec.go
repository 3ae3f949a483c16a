package control

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/lrkit/lrkit/schedule"
)

// Kind describes one controller kind of the spec language, as
// schedule.Kind describes a schedule: its name, what it does, its source
// and a zero value whose struct tags declare the parameters (spec, default,
// choices, doc; the same tags as schedules).
type Kind struct {
	Name       string // name in spec text, e.g. "plateau"
	Summary    string // one line: what the controller does
	Source     string // paper or library it follows
	Proto      any    // pointer to a zero value of the controller's struct type
	Unverified string // parts that could not be checked against the source
}

// Param is one parameter of a controller kind, read from its struct tags.
type Param struct {
	Name     string // spec name
	Type     string // "number", "integer", "word", "bool", "schedule", "path"
	Default  string // spec text; empty when Required
	Required bool
	Choices  []string
	Doc      string
}

// Params lists the kind's parameters in declaration order.
func (k Kind) Params() []Param {
	t := reflect.TypeOf(k.Proto).Elem()
	var ps []Param
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, ok := f.Tag.Lookup("spec")
		if !ok {
			continue
		}
		def, has := f.Tag.Lookup("default")
		if d, ok := defaultsOf(k.Proto)[name]; ok {
			def = d
		}
		p := Param{Name: name, Type: typeWord(f), Default: def, Required: !has, Doc: f.Tag.Get("doc")}
		if c := f.Tag.Get("choices"); c != "" {
			p.Choices = strings.Split(c, "|")
		}
		ps = append(ps, p)
	}
	return ps
}

var scheduleType = reflect.TypeFor[schedule.Schedule]()

func typeWord(f reflect.StructField) string {
	if f.Type == scheduleType {
		return "schedule"
	}
	switch f.Type.Kind() {
	case reflect.Float64:
		return "number"
	case reflect.Int64:
		return "integer"
	case reflect.Bool:
		return "bool"
	}
	if f.Tag.Get("spec") == "file" {
		return "path"
	}
	return "word"
}

// Kinds lists every controller kind of the spec language, for
// `lrkit schedules`. A plain schedule spec is also a controller (Fixed).
func Kinds() []Kind {
	return []Kind{
		{Name: "plateau", Summary: "reduce a base schedule by a factor when a metric stops improving",
			Source: "PyTorch ReduceLROnPlateau (torch/optim/lr_scheduler.py)", Proto: &Plateau{}},
		{Name: "hd", Summary: "hypergradient descent: the rate follows the alignment of consecutive gradients (SGD-HD)",
			Source: "Baydin et al. 2018, arXiv 1703.04782 (gbaydin/hypergradient-descent sgd_hd.py)", Proto: &HD{},
			Unverified: "multiplicative variant (mult=true) from memory of the paper"},
		{Name: "adam_hd", Summary: "hypergradient descent for Adam: as hd, fed with Adam's bias-corrected direction",
			Source: "Baydin et al. 2018, arXiv 1703.04782 (gbaydin/hypergradient-descent adam_hd.py)", Proto: &HD{Adam: true},
			Unverified: "multiplicative variant (mult=true) from memory of the paper"},
		{Name: "fedhyper", Summary: "FedHyper global learning-rate rule for federated rounds (G, GM or server-side local)",
			Source: "Wang, Wang, Li, ICLR 2024, arXiv 2310.03156 (ATP-1010/FedHyper)", Proto: &FedHyper{}},
		{Name: "autolrs", Summary: "AutoLRS: per stage, Bayesian optimisation of a constant rate over forecast losses of short trials",
			Source: "Jin et al., ICLR 2021, arXiv 2105.10762 (YuchenJin/autolrs)", Proto: &AutoLRS{},
			Unverified: "GP kernel hyperparameters (skopt defaults recalled); smoother is a robust moving median, not scipy's spline"},
		{Name: "refined", Summary: "a refined schedule read from a step,lr CSV (lrkit refine), rescaled to a peak",
			Source: "Defazio et al. 2023, arXiv 2310.07831", Proto: &Refined{}},
	}
}

// defaultsOf returns a kind's overrides of its type's default tags
// (adam_hd shares hd's type with another default beta).
func defaultsOf(proto any) map[string]string {
	if d, ok := proto.(interface{ paramDefaults() map[string]string }); ok {
		return d.paramDefaults()
	}
	return nil
}

// kindNamer is implemented by every controller built from a spec.
type kindNamer interface{ kindName() string }

// formatController prints a controller struct as spec text: its kind name
// and, in declaration order, every required parameter and every parameter
// whose value differs from its default.
func formatController(c kindNamer) string {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	var b strings.Builder
	b.WriteString(c.kindName())
	b.WriteByte('(')
	first := true
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, ok := f.Tag.Lookup("spec")
		if !ok {
			continue
		}
		text := formatValue(v.Field(i))
		def, has := f.Tag.Lookup("default")
		if d, ok := defaultsOf(c)[name]; ok {
			def = d
		}
		if has && sameValue(v.Field(i), text, def) {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(text)
	}
	b.WriteByte(')')
	return b.String()
}

func formatValue(v reflect.Value) string {
	if v.Type() == scheduleType {
		if v.IsNil() {
			return "none"
		}
		return v.Interface().(schedule.Schedule).String()
	}
	switch v.Kind() {
	case reflect.Float64:
		return formatFloat(v.Float())
	case reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.String:
		return quoteIfNeeded(v.String())
	}
	return fmt.Sprint(v.Interface())
}

// formatFloat prints the shortest text that reads back to the same float.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func sameValue(v reflect.Value, text, def string) bool {
	switch v.Kind() {
	case reflect.Float64:
		d, err := strconv.ParseFloat(def, 64)
		return err == nil && d == v.Float()
	case reflect.Int64:
		d, err := strconv.ParseInt(def, 10, 64)
		return err == nil && d == v.Int()
	}
	return text == def
}

// quoteIfNeeded leaves a bare word of the spec language (letters, digits,
// "_", "-", "." and not a number) as it is and quotes anything else.
func quoteIfNeeded(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-.", r)) {
			return strconv.Quote(s)
		}
	}
	if c := s[0]; c >= '0' && c <= '9' || c == '-' || c == '.' {
		return strconv.Quote(s)
	}
	return s
}

func (p *Plateau) kindName() string { return "plateau" }
