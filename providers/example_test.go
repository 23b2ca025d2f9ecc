package providers_test

import (
	"context"
	"fmt"
	"time"

	"github.com/switchyard-router/switchyard/providers"
)

// overloaded is an upstream that is always out of capacity.
type overloaded struct{}

func (overloaded) Complete(context.Context, *providers.Request) (*providers.Response, error) {
	return nil, providers.FromStatus("primary", 503, "overloaded")
}

func (overloaded) Stream(context.Context, *providers.Request, func(providers.Chunk) error) error {
	return providers.FromStatus("primary", 503, "overloaded")
}

// echo is an upstream that says which model answered.
type echo struct{}

func (echo) Complete(_ context.Context, req *providers.Request) (*providers.Response, error) {
	return &providers.Response{
		Model:   req.Model,
		Message: providers.Message{Role: "assistant", Parts: []providers.Part{{Type: "text", Text: "Hello from " + req.Model}}},
	}, nil
}

func (echo) Stream(_ context.Context, req *providers.Request, emit func(providers.Chunk) error) error {
	return emit(providers.Chunk{Model: req.Model, Role: "assistant", Text: "Hello from " + req.Model})
}

func ExampleChain() {
	chain := &providers.Chain{
		Targets: []providers.Target{
			{Name: "primary/gpt-4o", Provider: overloaded{}, Model: "gpt-4o"},
			{Name: "backup/llama3", Provider: echo{}, Model: "llama3"},
		},
		Retries: 1, // one more round if every target fails
		Backoff: time.Millisecond,
	}
	var trace providers.Trace
	ctx := providers.WithTrace(context.Background(), &trace)
	resp, err := chain.Complete(ctx, &providers.Request{
		Model:    "auto",
		Messages: []providers.Message{{Role: "user", Parts: []providers.Part{{Type: "text", Text: "Hi"}}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Message.Text())
	for _, a := range trace.Attempts {
		fmt.Println(a.Target, a.Status)
	}
	fmt.Println("answered by", trace.Target)
	// Output:
	// Hello from llama3
	// primary/gpt-4o 503
	// backup/llama3 200
	// answered by backup/llama3
}
