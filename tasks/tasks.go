// Package tasks is switchyard's built-in task library: real user prompts
// labelled by task type (coding, debugging, summarization, translation,
// creative writing, …), embedded in the binary, with the phrases that
// describe each type and the vectors of every prompt for the pinned
// embedding model.
//
// The prompts come from the train split of the llm_tasks corpus (permissive
// sources; attribution and licences in SOURCE.md beside this file) and from
// prompts the switchyard team wrote for the types no licensed source covered
// (written/README.md). Rows that also appear in an evaluation set switchyard
// is measured on are left out when the library is built (see tasks/build).
//
// The library is data: package ground uses it to turn a route's condition
// into pseudo-examples and to calibrate thresholds.
package tasks

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
)

//go:embed library.jsonl
var libraryJSONL []byte

// Type is one task type.
type Type struct {
	Name string // e.g. "coding"; the label of its prompts
	// Phrases describe the type in a few words each ("programming",
	// "implement a function"): what a condition naming it would say.
	Phrases []string
}

// Prompt is one library row.
type Prompt struct {
	Text   string `json:"text"`
	Type   string `json:"label"`
	Source string `json:"source"` // where the row comes from; "switchyard" for the team's own
}

// Library is the task library. It is immutable after Load and safe for
// concurrent use.
type Library struct {
	types   []Type
	prompts []Prompt
	byType  map[string][]int // type → indices into prompts
}

// Load parses the embedded library.
func Load() (*Library, error) {
	return parse(libraryJSONL)
}

func parse(data []byte) (*Library, error) {
	l := &Library{types: typeList(), byType: map[string][]int{}}
	known := map[string]bool{}
	for _, t := range l.types {
		known[t.Name] = true
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var p Prompt
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("tasks: library line %d: %w", n, err)
		}
		if !known[p.Type] {
			return nil, fmt.Errorf("tasks: library line %d: unknown task type %q", n, p.Type)
		}
		l.byType[p.Type] = append(l.byType[p.Type], len(l.prompts))
		l.prompts = append(l.prompts, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tasks: library: %w", err)
	}
	return l, nil
}

// Types returns the task types, by name.
func (l *Library) Types() []Type {
	out := make([]Type, len(l.types))
	for i, t := range l.types {
		out[i] = Type{Name: t.Name, Phrases: slices.Clone(t.Phrases)}
	}
	return out
}

// Len reports how many prompts the library holds.
func (l *Library) Len() int { return len(l.prompts) }

// Prompts returns the prompts of one type, in library order.
func (l *Library) Prompts(typ string) []Prompt {
	idx := l.byType[typ]
	out := make([]Prompt, len(idx))
	for i, j := range idx {
		out[i] = l.prompts[j]
	}
	return out
}

// DefaultSample is how many prompts per type Sample keeps when asked for 0.
const DefaultSample = 300

// Sample returns, per type, up to n of its prompts (0 means DefaultSample)
// drawn with a fixed seed, in library order: the working set grounding and
// calibration use, so that their cost does not grow with the library.
func (l *Library) Sample(n int) map[string][]Prompt {
	if n <= 0 {
		n = DefaultSample
	}
	out := make(map[string][]Prompt, len(l.types))
	for _, t := range l.types {
		idx := slices.Clone(l.byType[t.Name])
		if len(idx) > n {
			rng := rand.New(rand.NewPCG(1, uint64(len(t.Name))))
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			idx = idx[:n]
			slices.Sort(idx)
		}
		ps := make([]Prompt, len(idx))
		for i, j := range idx {
			ps[i] = l.prompts[j]
		}
		out[t.Name] = ps
	}
	return out
}
