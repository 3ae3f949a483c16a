package main

import (
	"fmt"
	"runtime/debug"

	"github.com/lrkit/lrkit/train/nn"
)

// version says which lrkit this is: the module version (a tag, or
// "(devel)" for a build from a checkout), the VCS revision and whether
// the tree had changes, and the Go version, as the build recorded them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (built without module information)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	rev, dirty, when := "", false, ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		case "vcs.time":
			when = s.Value
		}
	}
	out := v
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		out += " revision " + rev
		if dirty {
			out += " with local changes"
		}
		if when != "" {
			out += " (" + when + ")"
		}
	}
	return fmt.Sprintf("%s, %s, %s kernels", out, bi.GoVersion, nn.Backend())
}
