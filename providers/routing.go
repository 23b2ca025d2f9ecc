package providers

import "context"

// Routing is what the router decided for a request, as the providers that
// serve it may see it: the proxy puts it in the request's context with
// WithRouting before it runs the chain. Adapters of real upstreams ignore
// it; the echo provider shows it in its answer. It is read-only once in
// the context.
type Routing struct {
	Route     string  // the route taken; empty for an explicit model
	Model     string  // the explicit model asked for, if any
	DecidedBy string  // embedding, default, explicit, sticky or judge
	Score     float64 // the best route's score; 0 when not classified
	// Scores are the best routes' scores, best first (a few at most);
	// empty when the request was not classified.
	Scores []RouteScore
	// Fallback says why a default decision fell to the default route.
	Fallback string
}

// RouteScore is one route's score for a request.
type RouteScore struct {
	Route string  `json:"route"`
	Score float64 `json:"score"`
}

type routingKey struct{}

// WithRouting returns a context carrying r.
func WithRouting(ctx context.Context, r *Routing) context.Context {
	return context.WithValue(ctx, routingKey{}, r)
}

// RoutingFrom returns the Routing put in ctx by WithRouting, or nil.
func RoutingFrom(ctx context.Context) *Routing {
	r, _ := ctx.Value(routingKey{}).(*Routing)
	return r
}
