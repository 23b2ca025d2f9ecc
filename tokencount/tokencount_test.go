package tokencount

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"
)

// tokenizerSamples are texts whose pieces the pre-tokenizer must split as
// the regular expression does: contractions in either case, runs of
// white space before words, symbols and newlines, numbers of more than
// three digits, CJK, marks, and white space other than ASCII's.
var tokenizerSamples = []string{
	"Hello, world!",
	"I'm here, you'LL see: it's 12345 items; we'd've gone.",
	"  two spaces",
	"a\n\n  b",
	"tab\tword\t!",
	"x  \n\t\n  y",
	"trailing   ",
	"'shell' ſ'S 'ſ K'K 'RE 'Ve 'lL",
	"日本語のテキスト。中文也没有空格",
	"x²+y² ≈ 1½, Ⅻ",
	"foo(bar) {\r\n\treturn 1\r\n}",
	" !!\n\nz",
	"\u00a0nbsp\u3000ideo\u0085nel\u2028 \v\f",
	"नमस्ते दुनिया",
	"<|endoftext|> is text here",
	"",
}

// tiktokenReference is tiktoken-go's cl100k_base, whose counts this
// package's must equal: exact, but slow (regexp2, and merges quadratic in
// a piece). Its offline loader reads the ranks tokenizer reads.
func tiktokenReference(t testing.TB) *tiktoken.Tiktoken {
	t.Helper()
	tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader())
	enc, err := tiktoken.GetEncoding(Encoding)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// countText is the tokens of s by this package's tokenizer.
func countText(t testing.TB, s string) int {
	t.Helper()
	tok, err := cl100k()
	if err != nil {
		t.Fatal(err)
	}
	c := Tally{tok: tok}
	c.Add(context.Background(), s)
	return c.n
}

// TestTokenizerMatchesTiktoken: on text with no piece over maxPieceBytes
// (all real prose and code) the count is tiktoken's exactly. Beside the
// samples, the README is English and this file Go.
func TestTokenizerMatchesTiktoken(t *testing.T) {
	ref := tiktokenReference(t)
	texts := slices.Clone(tokenizerSamples)
	for _, f := range []string{filepath.Join("..", "README.md"), "tokencount.go", "tokencount_test.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(b))
	}
	for _, s := range texts {
		if got, want := countText(t, s), len(ref.EncodeOrdinary(s)); got != want {
			t.Errorf("%.40q…: %d tokens, tiktoken says %d", s, got, want)
		}
	}
}

func FuzzTokenizer(f *testing.F) {
	ref := tiktokenReference(f)
	for _, s := range tokenizerSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// tiktoken-go reads invalid UTF-8 as U+FFFD and counts that; JSON
		// decoding has already done the same to every text counted here.
		if !utf8.ValidString(s) || len(s) > maxPieceBytes {
			t.Skip()
		}
		if got, want := countText(t, s), len(ref.EncodeOrdinary(s)); got != want {
			t.Errorf("%q: %d tokens, tiktoken says %d", s, got, want)
		}
	})
}

func TestPieces(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"I'm here, you'LL see: it's 12345 items.",
			[]string{"I", "'m", " here", ",", " you", "'LL", " see", ":", " it", "'s", " ", "123", "45", " items", "."}},
		{"x  \n\t\n  y", []string{"x", "  \n\t\n", " ", " y"}},
		{"trailing   ", []string{"trailing", "   "}},
		{"'shell'", []string{"'s", "hell", "'"}},
		{"foo(bar) {\r\n\treturn 1\r\n}", []string{"foo", "(bar", ")", " {\r\n", "\treturn", " ", "1", "\r\n", "}"}},
		{"日本語のテキスト。中文", []string{"日本語のテキスト", "。中文"}},
		{"\u00a0nbsp\u3000ideo", []string{"\u00a0nbsp", "\u3000ideo"}},
	}
	for _, tt := range tests {
		if got := slices.Collect(pieces(tt.text)); !slices.Equal(got, tt.want) {
			t.Errorf("pieces(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// TestLongPiecesAreCut: one word longer than maxPieceBytes reaches the
// merge in pieces no longer than that, each whole runes.
func TestLongPiecesAreCut(t *testing.T) {
	for _, word := range []string{strings.Repeat("a", 5000), strings.Repeat("語", 5000), strings.Repeat(" ", 5000)} {
		var total int
		for p := range pieces(word) {
			if len(p) > maxPieceBytes || !utf8.ValidString(p) {
				t.Fatalf("piece of %d bytes (valid UTF-8: %v), want at most %d", len(p), utf8.ValidString(p), maxPieceBytes)
			}
			total += len(p)
		}
		if total != len(word) {
			t.Errorf("pieces cover %d bytes of %d", total, len(word))
		}
	}
}

// looksCancelled is a context that is cancelled from its nth look on, so
// a test sees how far a count went before it noticed.
type looksCancelled struct {
	context.Context
	n, looks int
}

func (c *looksCancelled) Err() error {
	if c.looks++; c.looks >= c.n {
		return context.Canceled
	}
	return nil
}

func TestCountStopsWhenCancelled(t *testing.T) {
	tok, err := cl100k()
	if err != nil {
		t.Fatal(err)
	}
	word := strings.Repeat("a", 4<<20)
	for _, n := range []int{1, 2, 5} {
		ctx := &looksCancelled{Context: context.Background(), n: n}
		c := tok.NewTally()
		c.Add(ctx, word)
		c.Add(ctx, word)
		got, err := c.Total()
		if !errors.Is(err, context.Canceled) || got != 0 {
			t.Errorf("cancelled at look %d: count %d, error %v; want 0, context.Canceled", n, got, err)
		}
		// One look per cancelCheckBytes counted, none once stopped.
		if ctx.looks != n {
			t.Errorf("cancelled at look %d: went on to look %d", n, ctx.looks)
		}
	}
}
