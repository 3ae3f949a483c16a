package runlog

// A fast path for the common JSONL line: a flat object whose keys are plain
// strings and whose values are numbers, null, plain strings or Python's
// bare NaN and Infinity. It returns ok=false for anything else, and for any
// line with a problem, so that the general path (encoding/json) decides
// and words every error; on the lines it accepts it gives the same record
// as the general path (FuzzReadJSONL checks this).

// parseLineFast parses line, or reports false.
func (j *JSONLReader) parseLineFast(line []byte) (Record, bool) {
	var rec Record
	var seen Field
	hasStep := false
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return rec, false
	}
	i = skipSpace(line, i+1)
	if i < len(line) && line[i] == '}' {
		return rec, false // {} has no step: let the general path say so
	}
	for {
		key, next, ok := plainString(line, i)
		if !ok {
			return rec, false
		}
		i = skipSpace(line, next)
		if i >= len(line) || line[i] != ':' {
			return rec, false
		}
		i = skipSpace(line, i+1)
		if i >= len(line) {
			return rec, false
		}
		var text []byte
		isNull := false
		switch c := line[i]; {
		case c == '"':
			s, next, ok := plainString(line, i)
			if !ok {
				return rec, false
			}
			text, i = trimSpaceBytes(s), next
			if len(text) == 0 {
				return rec, false
			}
		case c == 'n':
			if !hasPrefixAt(line, i, "null") {
				return rec, false
			}
			isNull, i = true, i+4
		case c == 'N':
			if !hasPrefixAt(line, i, "NaN") {
				return rec, false
			}
			text, i = line[i:i+3], i+3
		case c == 'I':
			if !hasPrefixAt(line, i, "Infinity") {
				return rec, false
			}
			text, i = line[i:i+8], i+8
		case c == '-' && hasPrefixAt(line, i, "-Infinity"):
			text, i = line[i:i+9], i+9
		case c == '-' || (c >= '0' && c <= '9'):
			end, ok := jsonNumber(line, i)
			if !ok {
				return rec, false
			}
			text, i = line[i:end], end
		default:
			return rec, false
		}
		if !j.fastField(&rec, &seen, &hasStep, key, text, isNull) {
			return rec, false
		}
		i = skipSpace(line, i)
		if i >= len(line) {
			return rec, false
		}
		if line[i] == '}' {
			if skipSpace(line, i+1) != len(line) || !hasStep {
				return rec, false
			}
			return rec, true
		}
		if line[i] != ',' {
			return rec, false
		}
		i = skipSpace(line, i+1)
	}
}

// fastField applies one key and value the way parseLine does.
func (j *JSONLReader) fastField(rec *Record, seen *Field, hasStep *bool, rawKey, text []byte, isNull bool) bool {
	key := rawKey
	if j.opts.Columns != nil {
		key = []byte(j.opts.rename(string(rawKey)))
	}
	if string(key) == NameStep {
		if *hasStep || isNull {
			return false
		}
		n, err := parseStep(string(text), NameStep)
		if err != nil {
			return false
		}
		rec.Step, *hasStep = n, true
		return true
	}
	f, ok := FieldByName(string(key))
	if !ok {
		return j.opts.IgnoreUnknown
	}
	if *seen&f != 0 {
		return false
	}
	*seen |= f
	if isNull {
		return true
	}
	return setParsed(rec, f, string(text)) == nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

func hasPrefixAt(b []byte, i int, p string) bool {
	return len(b)-i >= len(p) && string(b[i:i+len(p)]) == p
}

func trimSpaceBytes(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n' || b[0] == '\v' || b[0] == '\f') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n' || b[len(b)-1] == '\v' || b[len(b)-1] == '\f') {
		b = b[:len(b)-1]
	}
	return b
}

// plainString reads a JSON string at b[i] that has no escapes, no control
// characters and only ASCII (so it needs no decoding); it returns the
// contents and the index after the closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for k := i + 1; k < len(b); k++ {
		switch c := b[k]; {
		case c == '"':
			return b[i+1 : k], k + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, i, false
		}
	}
	return nil, i, false
}

// jsonNumber returns the end of the JSON number at b[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func jsonNumber(b []byte, i int) (int, bool) {
	digits := func(k int) int {
		for k < len(b) && b[k] >= '0' && b[k] <= '9' {
			k++
		}
		return k
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		k := digits(i + 1)
		if k == i+1 {
			return i, false
		}
		i = k
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		k := digits(i)
		if k == i {
			return i, false
		}
		i = k
	}
	return i, true
}
