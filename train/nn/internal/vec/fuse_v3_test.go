//go:build amd64.v3

package vec

// goFuses: at GOAMD64=v3 the Go compiler fuses x*y + z into one
// multiply-add, so the Go loops round differently from the assembly ones
// (which do not fuse) and the tests compare them within a tolerance.
const goFuses = true
