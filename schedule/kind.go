package schedule

// Kind describes one kind of the spec language: its name, what it is,
// where it comes from, and a value of its Go type. The parameters are read
// from the struct tags of Proto's type:
//
//	spec:"name"         the parameter's name in spec text (required tag)
//	spec:"name,opts"    with options: positional (a schedule or list of
//	                    schedules that may be written first, unnamed),
//	                    path (a file name, refused in untrusted text),
//	                    inf (a number that may be inf or -inf)
//	default:"text"      its default, as spec text; absent means required
//	choices:"a|b|c"     the allowed words of an enumerated string
//	doc:"text"          one line for `lrkit schedules`
//
// Field types the language knows: float64, int64, bool, string (a word or a
// quoted string), Length, []float64, []int64, Schedule and []Schedule.
//
// A schedule kind's Proto is the zero value of its struct type (WSD{}). A
// stateful kind (a controller of package control, registered with
// Register) has a pointer Proto (&Plateau{}); its fields other than the
// parameters are copied into every value built, so two kinds can share a
// type and differ by a preset field (then the type has a SpecKind method).
type Kind struct {
	Name    string   // name in spec text, e.g. "wsd"
	Summary string   // one line: what the schedule does
	Source  string   // paper or library it follows, e.g. "Hägele et al. 2024, arXiv 2405.18392"
	Proto   Schedule // a value of the struct type, e.g. WSD{} or &Plateau{}
	// Unverified, when not empty, says which parts of the formula could not
	// be checked against the source; `lrkit schedules` prints it.
	Unverified string
	// Stateful marks a kind whose rate depends on what the run reports (a
	// controller): Parse refuses it, and it never nests in a schedule.
	Stateful bool
	// Defaults overrides the default tags of some parameters, by spec
	// name, for a kind that shares its type with another (adam_hd's β).
	Defaults map[string]string
}

// ParamError is a parameter value that a schedule rejects. Validate
// methods return it so that Parse can point at the offending value in the
// spec text: `spec:1:30: floor: must not exceed peak (floor 2 > peak 1)`.
type ParamError struct {
	Param string // the parameter's spec name, e.g. "floor"
	Msg   string // what is wrong and, where possible, the fix
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Msg }
