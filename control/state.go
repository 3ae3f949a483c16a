package control

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// restoreJSON decodes a controller state strictly: unknown fields are an
// error, so a state from another controller kind is refused.
func restoreJSON(kind string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: restore state: %w", kind, err)
	}
	return nil
}
