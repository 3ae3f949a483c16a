package bench

import (
	"embed"
	"fmt"
)

//go:embed studies/*.yaml
var studyFiles embed.FS

// BuiltinStudy returns the text of a study that ships with lrkit:
// "default" (what `lrkit bench` runs) or "quick" (`lrkit bench --quick`).
func BuiltinStudy(name string) ([]byte, error) {
	b, err := studyFiles.ReadFile("studies/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("bench: no built-in study %q (have default, quick)", name)
	}
	return b, nil
}
