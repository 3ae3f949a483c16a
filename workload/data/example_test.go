package data_test

import (
	"bytes"
	"fmt"

	"github.com/lrkit/lrkit/workload/data"
)

func ExampleReadIDX() {
	// Two 2×3 images, as in an MNIST idx3 file.
	raw, err := data.EncodeIDX([]int{2, 2, 3}, []byte{0, 1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 60})
	if err != nil {
		panic(err)
	}
	x, err := data.ReadIDX(bytes.NewReader(raw), 0)
	if err != nil {
		panic(err)
	}
	fmt.Println(x.Dims, x.Data[6:])
	// Output:
	// [2 2 3] [10 20 30 40 50 60]
}

func ExampleNewText() {
	t, err := data.NewText([]byte("In the beginning God created the heaven and the earth."))
	if err != nil {
		panic(err)
	}
	fmt.Printf("vocabulary %q\n", t.Vocab)
	fmt.Printf("%d training and %d validation characters\n", len(t.Train), len(t.Val))
	fmt.Println(t.Decode(t.Train[:16]))
	// Output:
	// vocabulary " .GIabcdeghinortv"
	// 49 training and 5 validation characters
	// In the beginning
}
