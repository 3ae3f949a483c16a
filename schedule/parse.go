package schedule

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// This file holds the lexer and parser of the spec language and its
// syntax tree. The grammar (docs/spec-language.md has the full story):
//
//	spec  = call
//	call  = WORD "(" [ arg { "," arg } [ "," ] ] ")"
//	arg   = WORD "=" value | value        (an unnamed value only first)
//	value = NUMBER | WORD | STRING | list | call
//	list  = "[" [ value { "," value } [ "," ] ] "]"
//
// Whitespace (spaces, tabs, line breaks) may appear between any two
// tokens. A bare token is a run of letters, digits and "_-.+"; it is a
// NUMBER when it has the form [+-]digits[.digits][(e|E)[+-]digits] (or
// starts with "."), and a WORD otherwise, in which case it must not
// contain "+". A STRING is double-quoted with Go escapes.

// ValueKind tells which alternative of the grammar a Value is.
type ValueKind int

// The kinds of value.
const (
	NumberValue ValueKind = iota + 1 // a number literal: Text is its text
	WordValue                        // a bare word: Text is the word
	StringValue                      // a quoted string: Text is its unquoted content
	ListValue                        // a list: List holds the elements
	CallValue                        // a nested call: Call holds it
)

// String names the kind for error messages.
func (k ValueKind) String() string {
	switch k {
	case NumberValue:
		return "number"
	case WordValue:
		return "word"
	case StringValue:
		return "string"
	case ListValue:
		return "list"
	case CallValue:
		return "call"
	}
	return "ValueKind(" + strconv.Itoa(int(k)) + ")"
}

// Expr is a call in spec text, name(args...): a schedule such as
// cosine(peak=1, steps=100), or any other call a package built on the spec
// language reads (a controller, say) with ParseExpr.
type Expr struct {
	Name string // the name before "("
	Pos  Pos    // position of the name
	Args []Arg  // arguments in the order written
}

// Arg is one argument of a call: Key=Value, or a Value with an empty Key
// when written without a name.
type Arg struct {
	Key    string // parameter name; "" for an unnamed argument
	KeyPos Pos    // position of the key (of the value when Key is "")
	Value  Value
}

// Value is the value of an argument or a list element.
type Value struct {
	Kind ValueKind
	Pos  Pos     // where the value starts
	Text string  // NumberValue, WordValue: the token; StringValue: the unquoted text
	List []Value // ListValue: the elements
	Call *Expr   // CallValue: the call
}

// Arg returns the argument named key and whether there is one.
func (e *Expr) Arg(key string) (Arg, bool) {
	for _, a := range e.Args {
		if a.Key == key {
			return a, true
		}
	}
	return Arg{}, false
}

// describe names the value for an error message ("got 0.5", "got a list").
func (v Value) describe() string {
	switch v.Kind {
	case NumberValue, WordValue:
		return v.Text
	case StringValue:
		return strconv.Quote(v.Text)
	case ListValue:
		return "a list"
	case CallValue:
		return "a call " + v.Call.Name + "(...)"
	}
	return "nothing"
}

// maxDepth bounds the nesting of calls and lists, so that a hostile spec
// cannot exhaust the stack.
const maxDepth = 64

// ParseExpr reads spec text into its syntax tree without knowing any
// schedule: it checks the syntax only. BuildExpr turns the tree (or a
// nested call of it) into a schedule. Errors are *SpecError.
func ParseExpr(spec string) (*Expr, error) {
	p := &parser{lx: lexer{src: spec, line: 1, col: 1}}
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, errorAt(p.tok.pos, "empty spec: write a schedule such as cosine(steps=1000)")
	}
	if p.tok.kind != tokWord {
		return nil, errorAt(p.tok.pos, "want a schedule name such as cosine(...), got %s", p.tok.describe())
	}
	e, err := p.call(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		if p.tok.kind == tokRParen || p.tok.kind == tokRBrack {
			return nil, errorAt(p.tok.pos, "unbalanced %s: nothing to close", p.tok.describe())
		}
		return nil, errorAt(p.tok.pos, "unexpected %s after the end of the spec", p.tok.describe())
	}
	return e, nil
}

// Tokens.

type tokKind int

const (
	tokEOF tokKind = iota
	tokNumber
	tokWord
	tokString
	tokLParen
	tokRParen
	tokLBrack
	tokRBrack
	tokComma
	tokEquals
)

type token struct {
	kind tokKind
	pos  Pos
	text string // number or word text; unquoted string content
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of spec"
	case tokNumber, tokWord:
		return strconv.Quote(t.text)
	case tokString:
		return "string " + strconv.Quote(t.text)
	}
	return strconv.Quote(tokPunct[t.kind])
}

var tokPunct = map[tokKind]string{
	tokLParen: "(", tokRParen: ")", tokLBrack: "[", tokRBrack: "]", tokComma: ",", tokEquals: "=",
}

type lexer struct {
	src       string
	off       int
	line, col int
}

func (l *lexer) pos() Pos { return Pos{Offset: l.off, Line: l.line, Col: l.col} }

// advance moves past one rune.
func (l *lexer) advance() {
	r, n := utf8.DecodeRuneInString(l.src[l.off:])
	l.off += n
	if r == '\n' {
		l.line++
		l.col = 1
	} else {
		l.col++
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == '+'
}

// isWordByte reports whether c may appear in a word.
func isWordByte(c byte) bool { return isBare(c) && c != '+' }

func (l *lexer) next() (token, error) {
	for l.off < len(l.src) {
		c := l.src[l.off]
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			break
		}
		l.advance()
	}
	p := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tokEOF, pos: p}, nil
	}
	c := l.src[l.off]
	switch c {
	case '(':
		l.advance()
		return token{kind: tokLParen, pos: p}, nil
	case ')':
		l.advance()
		return token{kind: tokRParen, pos: p}, nil
	case '[':
		l.advance()
		return token{kind: tokLBrack, pos: p}, nil
	case ']':
		l.advance()
		return token{kind: tokRBrack, pos: p}, nil
	case ',':
		l.advance()
		return token{kind: tokComma, pos: p}, nil
	case '=':
		l.advance()
		return token{kind: tokEquals, pos: p}, nil
	case '"':
		return l.str()
	}
	if isBare(c) {
		start := l.off
		plus := Pos{}
		for l.off < len(l.src) && isBare(l.src[l.off]) {
			if l.src[l.off] == '+' && plus.Line == 0 {
				plus = l.pos()
			}
			l.advance()
		}
		text := l.src[start:l.off]
		if isNumber(text) {
			return token{kind: tokNumber, pos: p, text: text}, nil
		}
		if plus.Line != 0 {
			return token{}, errorAt(plus, "unexpected character '+' in %q: a word has only letters, digits and _ - .", text)
		}
		return token{kind: tokWord, pos: p, text: text}, nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	if r == utf8.RuneError {
		return token{}, errorAt(p, "invalid UTF-8 byte %#x", c)
	}
	return token{}, errorAt(p, "unexpected character %q", r)
}

// str reads a double-quoted string with Go escapes.
func (l *lexer) str() (token, error) {
	p := l.pos()
	start := l.off
	l.advance() // opening quote
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch c {
		case '\\':
			l.advance()
			if l.off < len(l.src) {
				l.advance()
			}
			continue
		case '\n':
			return token{}, errorAt(p, "unterminated string: a string must close with \" on the same line")
		case '"':
			l.advance()
			s, err := strconv.Unquote(l.src[start:l.off])
			if err != nil {
				return token{}, errorAt(p, "bad escape in string %s", l.src[start:l.off])
			}
			return token{kind: tokString, pos: p, text: s}, nil
		}
		l.advance()
	}
	return token{}, errorAt(p, "unterminated string: missing closing \"")
}

// isNumber reports whether s is a number literal:
// [+-] (digits [. digits*] | . digits) [(e|E) [+-] digits].
func isNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	mant := digits()
	if i < len(s) && s[i] == '.' {
		i++
		mant += digits()
	}
	if mant == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// isInteger reports whether the number literal s has no point or exponent.
func isInteger(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '.', 'e', 'E':
			return false
		}
	}
	return true
}

// Parser.

type parser struct {
	lx  lexer
	tok token
}

func (p *parser) next() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// call parses WORD "(" args ")" with p.tok at the WORD.
func (p *parser) call(depth int) (*Expr, error) {
	if depth > maxDepth {
		return nil, errorAt(p.tok.pos, "spec nested too deeply (more than %d levels)", maxDepth)
	}
	e := &Expr{Name: p.tok.text, Pos: p.tok.pos}
	if err := p.next(); err != nil {
		return nil, err
	}
	if p.tok.kind != tokLParen {
		return nil, errorAt(p.tok.pos, "want \"(\" after %s, got %s (write %s(...))", e.Name, p.tok.describe(), e.Name)
	}
	open := p.tok.pos
	if err := p.next(); err != nil {
		return nil, err
	}
	for p.tok.kind != tokRParen {
		if p.tok.kind == tokEOF {
			return nil, errorAt(open, "unclosed \"(\" of %s: missing \")\"", e.Name)
		}
		a, err := p.arg(depth)
		if err != nil {
			return nil, err
		}
		e.Args = append(e.Args, a)
		switch p.tok.kind {
		case tokComma:
			if err := p.next(); err != nil {
				return nil, err
			}
		case tokRParen:
		case tokEOF:
			return nil, errorAt(open, "unclosed \"(\" of %s: missing \")\"", e.Name)
		default:
			return nil, errorAt(p.tok.pos, "want \",\" or \")\" in %s(...), got %s", e.Name, p.tok.describe())
		}
	}
	return e, p.next()
}

// arg parses [WORD "="] value.
func (p *parser) arg(depth int) (Arg, error) {
	if p.tok.kind == tokWord {
		key := p.tok
		save := p.lx
		if err := p.next(); err != nil {
			return Arg{}, err
		}
		if p.tok.kind == tokEquals {
			if err := p.next(); err != nil {
				return Arg{}, err
			}
			v, err := p.value(depth, key.text)
			if err != nil {
				return Arg{}, err
			}
			return Arg{Key: key.text, KeyPos: key.pos, Value: v}, nil
		}
		// Not a key: back up and read the word as a value.
		p.lx = save
		p.tok = key
	}
	if p.tok.kind == tokEquals {
		return Arg{}, errorAt(p.tok.pos, "\"=\" without a parameter name before it")
	}
	v, err := p.value(depth, "")
	if err != nil {
		return Arg{}, err
	}
	return Arg{KeyPos: v.Pos, Value: v}, nil
}

// value parses a number, word, string, list or call.
func (p *parser) value(depth int, key string) (Value, error) {
	t := p.tok
	switch t.kind {
	case tokNumber:
		return Value{Kind: NumberValue, Pos: t.pos, Text: t.text}, p.next()
	case tokString:
		return Value{Kind: StringValue, Pos: t.pos, Text: t.text}, p.next()
	case tokWord:
		save, err := p.peekIs(tokLParen)
		if err != nil {
			return Value{}, err
		}
		if save {
			c, err := p.call(depth + 1)
			if err != nil {
				return Value{}, err
			}
			return Value{Kind: CallValue, Pos: t.pos, Call: c}, nil
		}
		return Value{Kind: WordValue, Pos: t.pos, Text: t.text}, p.next()
	case tokLBrack:
		return p.list(depth + 1)
	}
	if key != "" {
		return Value{}, errorAt(t.pos, "want a value after %s=, got %s", key, t.describe())
	}
	return Value{}, errorAt(t.pos, "want a value, got %s", t.describe())
}

// peekIs reports whether the token after p.tok has kind k, without
// consuming anything.
func (p *parser) peekIs(k tokKind) (bool, error) {
	save := p.lx
	t, err := p.lx.next()
	p.lx = save
	if err != nil {
		// The error will surface again when that token is read; here the
		// answer is simply "no".
		return false, nil
	}
	return t.kind == k, nil
}

// list parses "[" values "]" with p.tok at "[".
func (p *parser) list(depth int) (Value, error) {
	open := p.tok.pos
	if depth > maxDepth {
		return Value{}, errorAt(open, "spec nested too deeply (more than %d levels)", maxDepth)
	}
	v := Value{Kind: ListValue, Pos: open}
	if err := p.next(); err != nil {
		return Value{}, err
	}
	for p.tok.kind != tokRBrack {
		if p.tok.kind == tokEOF {
			return Value{}, errorAt(open, "unclosed \"[\": missing \"]\"")
		}
		e, err := p.value(depth, "")
		if err != nil {
			return Value{}, err
		}
		v.List = append(v.List, e)
		switch p.tok.kind {
		case tokComma:
			if err := p.next(); err != nil {
				return Value{}, err
			}
		case tokRBrack:
		case tokEOF:
			return Value{}, errorAt(open, "unclosed \"[\": missing \"]\"")
		default:
			return Value{}, errorAt(p.tok.pos, "want \",\" or \"]\" in a list, got %s", p.tok.describe())
		}
	}
	return v, p.next()
}

// String returns the expression as spec text, arguments in the order
// written (not the canonical form of a schedule; use Format for that).
func (e *Expr) String() string {
	var b []byte
	b = appendExpr(b, e)
	return string(b)
}

func appendExpr(b []byte, e *Expr) []byte {
	b = append(b, e.Name...)
	b = append(b, '(')
	for i, a := range e.Args {
		if i > 0 {
			b = append(b, ", "...)
		}
		if a.Key != "" {
			b = append(b, a.Key...)
			b = append(b, '=')
		}
		b = appendValue(b, a.Value)
	}
	return append(b, ')')
}

func appendValue(b []byte, v Value) []byte {
	switch v.Kind {
	case NumberValue:
		return append(b, v.Text...)
	case WordValue, StringValue:
		return appendWord(b, v.Text)
	case ListValue:
		b = append(b, '[')
		for i, e := range v.List {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	case CallValue:
		return appendExpr(b, v.Call)
	}
	return fmt.Appendf(b, "<%v>", v.Kind)
}

// isWord reports whether s can be written bare: letters, digits, "_-."
// and not a number.
func isWord(s string) bool {
	if s == "" || isNumber(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) {
			return false
		}
	}
	return true
}

// appendWord writes s bare when it is a word, else as a quoted string.
func appendWord(b []byte, s string) []byte {
	if isWord(s) {
		return append(b, s...)
	}
	return strconv.AppendQuote(b, s)
}
