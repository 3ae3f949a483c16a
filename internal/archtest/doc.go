// Package archtest holds no code: its tests keep the house's shape that
// docs/architecture.md describes. They fail when a package imports one
// above its floor, when a main package lives outside cmd/, and when a
// function of the CLI grows past the size of a thin command.
package archtest
