//go:build !amd64.v3

package optim

// goFuses: below GOAMD64=v3 on x86-64 the Go compiler does not fuse
// multiply-adds, so the Go and assembly loops must agree bit for bit
// (elsewhere there is no assembly and both sides are the Go loop).
const goFuses = false
