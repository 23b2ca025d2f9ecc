package providers_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-router/switchyard/providers"
)

// streamer is a Provider whose Stream runs a function.
type streamer func(ctx context.Context, emit func(providers.Chunk) error) error

func (f streamer) Complete(context.Context, *providers.Request) (*providers.Response, error) {
	return nil, errors.New("not used")
}

func (f streamer) Stream(ctx context.Context, _ *providers.Request, emit func(providers.Chunk) error) error {
	return f(ctx, emit)
}

// roleOnly is a chunk without content, as a hostile upstream repeats it.
var roleOnly = providers.Chunk{Role: "assistant", Raw: json.RawMessage(`{"choices":[{"index":0,"delta":{"role":"assistant"}}]}`)}

// TestStreamHoldsABoundedNumberOfChunks: an upstream that sends chunks
// without content forever is not buffered (past the bound they are
// dropped), and when the first-content bound expires the request still
// fails over to the backup: nothing had reached the client.
func TestStreamHoldsABoundedNumberOfChunks(t *testing.T) {
	var sent atomic.Int64
	hostile := streamer(func(ctx context.Context, emit func(providers.Chunk) error) error {
		for {
			if err := emit(roleOnly); err != nil {
				return err
			}
			sent.Add(1)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	})
	backup := streamer(func(ctx context.Context, emit func(providers.Chunk) error) error {
		if err := emit(roleOnly); err != nil {
			return err
		}
		return emit(providers.Chunk{Text: "from backup"})
	})
	c := &providers.Chain{Targets: []providers.Target{
		{Name: "hostile/m", Provider: hostile, FirstByteTimeout: 200 * time.Millisecond},
		{Name: "backup/m", Provider: backup},
	}}
	var got []providers.Chunk
	err := c.Stream(context.Background(), newRequest(true), func(ch providers.Chunk) error {
		got = append(got, ch)
		return nil
	})
	if err != nil {
		t.Fatalf("err = %v, want the backup's answer", err)
	}
	if len(got) != 2 || got[1].Text != "from backup" {
		t.Fatalf("client got %d chunks (%+v), want only the backup's two", len(got), got)
	}
	if sent.Load() < 1000 {
		t.Fatalf("the hostile upstream sent only %d chunks; the test proves nothing", sent.Load())
	}
	t.Logf("%d chunks without content dropped", sent.Load())
}

// TestStreamFewContentlessChunksStillFailOver: below the bound, chunks
// without content are held, so a target that fails before content is
// replaced as before.
func TestStreamFewContentlessChunksStillFailOver(t *testing.T) {
	failing := streamer(func(ctx context.Context, emit func(providers.Chunk) error) error {
		for range 10 {
			emit(roleOnly)
		}
		return providers.FromStatus("failing", 503, "down")
	})
	backup := streamer(func(ctx context.Context, emit func(providers.Chunk) error) error {
		return emit(providers.Chunk{Text: "ok"})
	})
	c := &providers.Chain{Targets: []providers.Target{{Name: "failing/m", Provider: failing}, {Name: "backup/m", Provider: backup}}}
	var texts []string
	err := c.Stream(context.Background(), newRequest(true), func(ch providers.Chunk) error {
		texts = append(texts, ch.Text)
		return nil
	})
	if err != nil || len(texts) != 1 || texts[0] != "ok" {
		t.Fatalf("err %v, chunks %q: want only the backup's answer", err, texts)
	}
}

// TestStreamIdleTimeout: an upstream that goes quiet after content is cut
// after IdleTimeout with a 504; the client's part of the answer stands.
func TestStreamIdleTimeout(t *testing.T) {
	quiet := streamer(func(ctx context.Context, emit func(providers.Chunk) error) error {
		if err := emit(providers.Chunk{Text: "Hel"}); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	})
	c := &providers.Chain{Targets: []providers.Target{{Name: "quiet/m", Provider: quiet, IdleTimeout: 100 * time.Millisecond}}}
	got := ""
	err := c.Stream(context.Background(), newRequest(true), func(ch providers.Chunk) error {
		got += ch.Text
		return nil
	})
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Status != http.StatusGatewayTimeout || got != "Hel" {
		t.Fatalf("err = %v, text %q; want a 504 after Hel", err, got)
	}
}

// TestReasoningIsContent: a reasoning delta ends the wait for the first
// content, so a thinking model is not cut by the first-content bound.
func TestReasoningIsContent(t *testing.T) {
	if !(providers.Chunk{Reasoning: "hmm"}).HasContent() {
		t.Fatal("a reasoning delta is not content")
	}
}
