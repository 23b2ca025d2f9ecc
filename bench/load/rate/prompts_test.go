package main

import (
	"strings"
	"testing"
)

func TestPrompt(t *testing.T) {
	words, err := readWords("../words.txt")
	if err != nil {
		t.Fatal(err)
	}
	// Pinned: texts bench/load/routed.lua built under wrk.
	for k, want := range map[int64]string{
		1_000_002:    "notes my translate spanish sum how code dragon music hello write dragon function this",
		hotBase + 11: "sum when hello song weather server sentence server french my sum language please week",
	} {
		if got := prompt(words, k); got != want {
			t.Errorf("prompt(%d) = %q, want %q (routed.lua's)", k, got, want)
		}
	}
	seen := map[string]int64{}
	for _, k := range []int64{0, 1, 63, 64, 4095, 4096, 262143, 262144, 1_000_000, 3_000_123, hotBase, hotBase + 15, 64*64*64*64 - 1} {
		p := prompt(words, k)
		if n := len(strings.Fields(p)); n != promptWords {
			t.Errorf("prompt(%d) = %q: %d words, want %d", k, p, n, promptWords)
		}
		if j, dup := seen[p]; dup {
			t.Errorf("prompt(%d) = prompt(%d) = %q", k, j, p)
		}
		seen[p] = k
	}
	for k := int64(0); k < 100_000; k++ {
		p := prompt(words, k)
		if j, dup := seen[p]; dup && j != k {
			t.Fatalf("prompt(%d) = prompt(%d) = %q", k, j, p)
		}
		seen[p] = k
	}
}

func TestPromptIndex(t *testing.T) {
	hot, fresh := 0, map[int64]bool{}
	for i := int64(0); i < 1000; i++ {
		k := promptIndex("repeat90", 5000, i)
		if k >= hotBase && k < hotBase+hotPrompts {
			hot++
			continue
		}
		if k != 5000+i || fresh[k] {
			t.Fatalf("request %d: prompt %d", i, k)
		}
		fresh[k] = true
	}
	if hot != 900 {
		t.Errorf("repeat90: %d of 1000 repeated, want 900", hot)
	}
	if k := promptIndex("unique", 7, 3); k != 10 {
		t.Errorf("unique: request 3 from 7 = prompt %d, want 10", k)
	}
}
