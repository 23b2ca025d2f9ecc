package main

import (
	"fmt"
	"os"
	"strings"
)

// The prompts of the auto-routed rows of bench/load.sh. bench/load/routed.lua
// builds the same texts for wrk with the same arithmetic; change both or
// neither.
const (
	promptWords = 14         // with [CLS] and [SEP]: 16 WordPiece tokens
	hotBase     = 16_000_000 // index of the first of the repeated prompts
	hotPrompts  = 16         // how many prompts the repeat mix repeats
	minstdMod   = 2147483647 // MINSTD: x ← x·48271 mod 2³¹−1
	minstdMul   = 48271
)

// readWords reads the 64 words prompts are made of (bench/load/words.txt).
// Each is one WordPiece token of all-MiniLM-L6-v2's vocabulary.
func readWords(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	w := strings.Fields(string(b))
	if len(w) != 64 {
		return nil, fmt.Errorf("%s: %d words, want 64", path, len(w))
	}
	return w, nil
}

// prompt returns the k-th prompt (0 ≤ k < 64⁴): 14 words, of which the 2nd,
// 6th, 10th and 14th are k's base-64 digits, least significant first, so
// that no two indices give the same text; the others come from a MINSTD
// generator seeded with k, so that the texts vary in topic.
func prompt(words []string, k int64) string {
	state := k%(minstdMod-1) + 1
	var b strings.Builder
	for j := range promptWords {
		var w int64
		if j%4 == 1 {
			d := int64(1) << (6 * (j / 4)) // 64^(j/4)
			w = k / d % 64
		} else {
			state = state * minstdMul % minstdMod
			w = state / 65536 % 64
		}
		if j > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[w])
	}
	return b.String()
}

// promptIndex is the prompt of request i (from 0) of a run: "unique" sends
// prompt start+i; "repeat90" sends one of hotPrompts fixed prompts nine
// times in ten, and prompt start+i every tenth request.
func promptIndex(mode string, start, i int64) int64 {
	if mode == "repeat90" && i%10 != 9 {
		return hotBase + i%hotPrompts
	}
	return start + i
}
