package schedule

import "fmt"

// Format is a temporary stand-in until the spec-language formatter lands.
func Format(s Schedule) string { return fmt.Sprintf("%T%+v", s, s) }
