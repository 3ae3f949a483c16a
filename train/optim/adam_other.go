//go:build !amd64 || purego

package optim

const haveAVX2 = false

func adamAVX2(w, grad, m, v *float32, n int, c *adamConsts, coupled, decays bool) {
	panic("optim: no AVX2 loop in this build")
}
