package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// FieldError is one problem with one config key.
type FieldError struct {
	Path    string // e.g. routes[2].targets[0].provider, or an env var's name
	Problem string // e.g. unknown provider "opnai"
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Problem
	}
	return e.Path + ": " + e.Problem
}

// problems collects FieldErrors.
type problems []error

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, &FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
}

// Validate reports every problem in c at once, joined; each is a
// *FieldError whose path names the key. It checks values, not the world:
// it does not resolve environment variables or reach any server.
func (c *Config) Validate() error {
	var p problems
	c.validateListen(&p)
	c.Embedder.validate(&p)
	known := c.validateProviders(&p)
	routes := c.validateRoutes(&p, known)
	c.validateAliases(&p, known, routes)
	switch {
	case c.DefaultRoute == "" && len(c.Routes) > 0:
		p.add("default_route", "required when routes exist")
	case c.DefaultRoute != "" && !routes[c.DefaultRoute]:
		p.add("default_route", "unknown route %q%s", c.DefaultRoute, suggest(c.DefaultRoute, keysOf(routes)))
	}
	c.Routing.validate(&p)
	c.Judge.validate(&p, known)
	c.Server.validate(&p)
	c.Log.validate(&p)
	checkEnvName(&p, "admin.token_env", c.Admin.TokenEnv)
	c.validateAPIKeys(&p)
	if c.Usage.Retention < 0 {
		p.add("usage.retention", "must not be negative (0 keeps rows forever)")
	}
	switch c.ConversationLog.Redact {
	case "none", "content":
	default:
		p.add("conversation_log.redact", "want none or content, got %q", clip(c.ConversationLog.Redact))
	}
	if c.ConversationLog.MaxSizeMB < 1 || c.ConversationLog.MaxBackups < 0 {
		p.add("conversation_log", "max_size_mb must be at least 1 and max_backups not negative")
	}
	if c.Usage.Queue < 1 {
		p.add("usage.queue", "must be at least 1")
	}
	if r := c.State.Redis; r.URL != "" || r.URLEnv != "" {
		if r.URL != "" && r.URLEnv != "" {
			p.add("state.redis", "give url or url_env, not both")
		}
		if u, err := url.Parse(r.URL); r.URL != "" && (err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix")) {
			p.add("state.redis.url", "want redis://host:port/db or rediss://…")
		} else if r.URL != "" {
			if _, ok := u.User.Password(); ok {
				p.add("state.redis.url", "holds a password: put the URL in a variable and name it in url_env")
			}
		}
		checkEnvName(&p, "state.redis.url_env", r.URLEnv)
		if r.Timeout <= 0 {
			p.add("state.redis.timeout", "must be positive")
		}
	}
	switch c.Tracing.Protocol {
	case "http", "grpc":
	default:
		p.add("tracing.protocol", "want http or grpc, got %q", clip(c.Tracing.Protocol))
	}
	if c.Tracing.SampleRatio < 0 || c.Tracing.SampleRatio > 1 {
		p.add("tracing.sample_ratio", "must be between 0 and 1")
	}
	for _, h := range keysOf(c.Tracing.HeadersEnv) {
		checkEnvName(&p, "tracing.headers_env["+h+"]", c.Tracing.HeadersEnv[h])
	}
	switch c.Usage.Store {
	case UsageSQLite:
	case UsagePostgres:
		if c.Usage.PostgresURLEnv == "" {
			p.add("usage.postgres_url_env", "store postgres needs the variable that holds its URL")
		}
		checkEnvName(&p, "usage.postgres_url_env", c.Usage.PostgresURLEnv)
	default:
		p.add("usage.store", "want sqlite or postgres, got %q", clip(c.Usage.Store))
	}
	for _, m := range keysOf(c.Prices) {
		pr := c.Prices[m]
		if pr.Input < 0 || pr.Output < 0 || pr.CachedInput < 0 {
			p.add("prices["+m+"]", "prices must not be negative")
		}
	}
	return errors.Join(p...)
}

func (c *Config) validateAPIKeys(p *problems) {
	names := map[string]bool{}
	for i, k := range c.APIKeys {
		at := fmt.Sprintf("api_keys[%d]", i)
		switch {
		case k.Name == "":
			p.add(at+".name", "required")
		case names[k.Name]:
			p.add(at+".name", "duplicate key name %q", clip(k.Name))
		}
		names[k.Name] = true
		switch {
		case k.KeyEnv == "" && k.SHA256 == "":
			p.add(at, "set key_env (the variable holding the key) or sha256 (its hash); never the key itself")
		case k.KeyEnv != "" && k.SHA256 != "":
			p.add(at, "set key_env or sha256, not both")
		case k.KeyEnv != "":
			checkEnvName(p, at+".key_env", k.KeyEnv)
		default:
			if b, err := hex.DecodeString(k.SHA256); err != nil || len(b) != 32 {
				p.add(at+".sha256", "want 64 hex digits (sha256sum of the key)")
			}
		}
		for j, r := range k.Roles {
			if r != "admin" && r != "user" {
				p.add(fmt.Sprintf("%s.roles[%d]", at, j), "unknown role %q (want admin or user)", clip(r))
			}
		}
		if k.Expires != "" {
			if _, err := time.Parse(time.RFC3339, k.Expires); err != nil {
				p.add(at+".expires", "want an RFC 3339 time such as 2027-01-01T00:00:00Z")
			}
		}
		for _, l := range []struct {
			key string
			v   int
		}{{"requests_per_minute", k.RequestsPerMinute}, {"tokens_per_minute", k.TokensPerMinute},
			{"requests_per_day", k.RequestsPerDay}, {"tokens_per_day", k.TokensPerDay}} {
			if l.v < 0 {
				p.add(at+"."+l.key, "must not be negative (0 = no limit)")
			}
		}
		if k.BudgetDay < 0 || k.BudgetMonth < 0 {
			p.add(at, "budgets must not be negative (0 = none)")
		}
	}
}

func (c *Config) validateListen(p *problems) {
	if c.Listen == "" {
		p.add("listen", "required")
		return
	}
	_, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		p.add("listen", "want host:port, got %q", clip(c.Listen))
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		p.add("listen", "port %q is not a number from 0 to 65535", clip(port))
	}
}

func (e *Embedder) validate(p *problems) {
	switch e.Kind {
	case EmbedderLocal:
		if e.URL != "" {
			p.add("embedder.url", "not used by kind local")
		}
		if e.APIKeyEnv != "" {
			p.add("embedder.api_key_env", "not used by kind local")
		}
	case EmbedderOllama:
		checkURL(p, "embedder.url", e.URL)
		if e.APIKeyEnv != "" {
			p.add("embedder.api_key_env", "not used by kind ollama")
		}
	case EmbedderOpenAI:
		checkURL(p, "embedder.url", e.URL)
		checkEnvName(p, "embedder.api_key_env", e.APIKeyEnv)
	case "":
		p.add("embedder.kind", "required (local, ollama or openai)")
	default:
		p.add("embedder.kind", "unknown kind %q (want local, ollama or openai)", clip(e.Kind))
	}
	if e.Model == "" {
		p.add("embedder.model", "required")
	}
	checkDuration(p, "embedder.timeout", e.Timeout)
	if e.CacheSize < 0 {
		p.add("embedder.cache_size", "must not be negative (0 disables the cache)")
	}
	switch e.Precision {
	case "", PrecisionAuto, PrecisionFP32, PrecisionInt8:
		if e.Precision != "" && e.Precision != PrecisionAuto && e.Kind != EmbedderLocal && e.Kind != "" {
			p.add("embedder.precision", "not used by kind %s", clip(e.Kind))
		}
	default:
		p.add("embedder.precision", "unknown precision %q (want auto, fp32 or int8)", clip(e.Precision))
	}
}

// validateProviders returns the set of provider names.
func (c *Config) validateProviders(p *problems) map[string]bool {
	names := map[string]int{}
	for i, pr := range c.Providers {
		at := "providers[" + strconv.Itoa(i) + "]"
		switch j, dup := names[pr.Name]; {
		case pr.Name == "":
			p.add(at+".name", "required")
		case dup:
			p.add(at+".name", "duplicate provider %q (also providers[%d])", pr.Name, j)
		default:
			names[pr.Name] = i
		}
		switch pr.Kind {
		case ProviderOpenAI, ProviderAnthropic, ProviderOCF:
			checkEnvName(p, at+".api_key_env", pr.APIKeyEnv)
		case ProviderOllama:
			if pr.APIKeyEnv != "" {
				p.add(at+".api_key_env", "not used by kind ollama (send an auth header with headers_env)")
			}
		case ProviderEcho:
			if pr.APIKeyEnv != "" {
				p.add(at+".api_key_env", "not used by kind echo (it calls no model)")
			}
		case "":
			p.add(at+".kind", "required (openai, ollama, anthropic, ocf or echo)")
		default:
			p.add(at+".kind", "unknown kind %q (want openai, ollama, anthropic, ocf or echo)", clip(pr.Kind))
		}
		if pr.Kind == ProviderEcho {
			if pr.BaseURL != "" {
				p.add(at+".base_url", "not used by kind echo (it calls no model)")
			}
		} else {
			checkURL(p, at+".base_url", pr.BaseURL)
		}
		checkDuration(p, at+".timeout", pr.Timeout)
		models := map[string]bool{}
		for j, m := range pr.Models {
			mat := at + ".models[" + strconv.Itoa(j) + "]"
			switch {
			case strings.TrimSpace(m) == "":
				p.add(mat, "empty model name")
			case models[m]:
				p.add(mat, "duplicate model %q", m)
			}
			models[m] = true
		}
		for _, h := range keysOf(pr.Headers) {
			checkHeader(p, at+".headers["+h+"]", h)
			if strings.ContainsAny(pr.Headers[h], "\r\n\x00") {
				p.add(at+".headers["+h+"]", "value holds a control character")
			}
		}
		for _, h := range keysOf(pr.ExtraHeaders) {
			hat := at + ".extra_headers[" + h + "]"
			checkHeader(p, hat, h)
			if strings.ContainsAny(pr.ExtraHeaders[h], "\r\n\x00") {
				p.add(hat, "value holds a control character")
			}
			if _, both := pr.Headers[h]; both {
				p.add(hat, "also set in headers")
			}
		}
		for j, f := range pr.ExcludeParams {
			fat := at + ".exclude_params[" + strconv.Itoa(j) + "]"
			switch strings.TrimSpace(f) {
			case "":
				p.add(fat, "empty field name")
			case "model", "messages":
				p.add(fat, "%q cannot be excluded", f)
			}
		}
		if pr.Weight < 0 || math.IsNaN(pr.Weight) || math.IsInf(pr.Weight, 0) {
			p.add(at+".weight", "must be a number ≥ 0")
		}
		if pr.MaxFailures < 0 {
			p.add(at+".max_failures", "must not be negative")
		}
		checkDuration(p, at+".recovery_interval", pr.RecoveryInterval)
		checkDuration(p, at+".health_check_period", pr.HealthCheckPeriod)
		checkDuration(p, at+".first_byte_timeout", pr.FirstByteTimeout)
		checkDuration(p, at+".stream_idle_timeout", pr.StreamIdleTimeout)
		if pr.HealthCheckPeriod > 0 && pr.HealthCheckPeriod < time.Second {
			p.add(at+".health_check_period", "must be at least 1s, or 0 for off")
		}
		for _, h := range keysOf(pr.HeadersEnv) {
			hat := at + ".headers_env[" + h + "]"
			checkHeader(p, hat, h)
			if _, both := pr.Headers[h]; both {
				p.add(hat, "also set in headers")
			}
			if _, both := pr.ExtraHeaders[h]; both {
				p.add(hat, "also set in extra_headers")
			}
			if pr.HeadersEnv[h] == "" {
				p.add(hat, "required: the name of an environment variable")
			} else {
				checkEnvName(p, hat, pr.HeadersEnv[h])
			}
		}
	}
	known := make(map[string]bool, len(names))
	for n := range names {
		known[n] = true
	}
	return known
}

// validateRoutes returns the set of route names.
func (c *Config) validateRoutes(p *problems, providers map[string]bool) map[string]bool {
	names := map[string]int{}
	for i, r := range c.Routes {
		at := "routes[" + strconv.Itoa(i) + "]"
		switch j, dup := names[r.Name]; {
		case r.Name == "":
			p.add(at+".name", "required")
		case strings.EqualFold(r.Name, AutoModel):
			p.add(at+".name", "%q is reserved for routing", r.Name)
			names[r.Name] = i // reported once, here, not again by default_route
		case dup:
			p.add(at+".name", "duplicate route %q (also routes[%d])", r.Name, j)
		default:
			names[r.Name] = i
			if _, clash := c.Aliases[r.Name]; clash {
				p.add(at+".name", "route %q has the name of an alias", r.Name)
			}
		}
		for j, ex := range r.Examples {
			if strings.TrimSpace(ex) == "" {
				p.add(at+".examples["+strconv.Itoa(j)+"]", "empty example")
			}
		}
		for j, ex := range r.Negatives {
			if strings.TrimSpace(ex) == "" {
				p.add(at+".negatives["+strconv.Itoa(j)+"]", "empty negative")
			}
		}
		if r.Threshold != nil {
			checkThreshold(p, at+".threshold", *r.Threshold, c.Aggregation())
		}
		checkTargets(p, at+".targets", r.Targets, providers)
		if r.Fallback != "" {
			checkFallback(p, at+".fallback", r.Fallback)
		}
	}
	known := make(map[string]bool, len(names))
	for n := range names {
		known[n] = true
	}
	return known
}

func (c *Config) validateAliases(p *problems, providers, routes map[string]bool) {
	for _, name := range keysOf(c.Aliases) {
		at := "aliases[" + name + "]"
		switch {
		case strings.TrimSpace(name) == "":
			p.add(at, "empty alias name")
		case strings.EqualFold(name, AutoModel):
			p.add(at, "%q is reserved for routing", name)
		}
		checkTargets(p, at, c.Aliases[name], providers)
	}
	for _, name := range keysOf(c.AliasFallback) {
		at := "alias_fallback[" + name + "]"
		if _, ok := c.Aliases[name]; !ok {
			p.add(at, "unknown alias %q%s", clip(name), suggest(name, keysOf(c.Aliases)))
		}
		checkFallback(p, at, c.AliasFallback[name])
	}
}

// checkFallback reports a fallback strategy that is not one.
func checkFallback(p *problems, at, s string) {
	switch s {
	case FallbackPriority, FallbackSameModel, FallbackNone:
		return
	}
	all := []string{FallbackPriority, FallbackSameModel, FallbackNone}
	hint := suggest(s, all)
	if hint == "" {
		hint = " (want " + strings.Join(all, ", ") + ")"
	}
	p.add(at, "unknown fallback strategy %q%s", clip(s), hint)
}

func checkTargets(p *problems, at string, ts []Target, providers map[string]bool) {
	if len(ts) == 0 {
		p.add(at, "at least one target is required")
	}
	for i, t := range ts {
		tat := at + "[" + strconv.Itoa(i) + "]"
		prefix, _, slash := strings.Cut(t.Model, "/")
		switch {
		case t.Provider == "" && slash:
			p.add(tat+".model", "%q names no provider: %q is not a provider%s (give provider, or write the model as provider/model)", clip(t.Model), clip(prefix), suggest(prefix, keysOf(providers)))
		case t.Provider == "":
			p.add(tat+".provider", "required (or write the model as provider/model)")
		case !providers[t.Provider]:
			p.add(tat+".provider", "unknown provider %q%s", clip(t.Provider), suggest(t.Provider, keysOf(providers)))
		}
		if strings.TrimSpace(t.Model) == "" {
			p.add(tat+".model", "required")
		}
		if w := t.Weight; w != nil && (*w < 0 || math.IsNaN(*w) || math.IsInf(*w, 0)) {
			p.add(tat+".weight", "must be a number ≥ 0")
		}
	}
}

func (r *Routing) validate(p *problems) {
	if !r.Threshold.Auto {
		checkThreshold(p, "routing.threshold", r.Threshold.Value, r.Aggregation)
	}
	if r.GroundExamples < 0 {
		p.add("routing.ground_examples", "must not be negative")
	}
	switch r.Aggregation {
	case AggregateMax, AggregateMean, AggregateLDA, AggregateAuto:
	default:
		p.add("routing.aggregation", "unknown aggregation %q (want auto, max, mean or lda)", clip(r.Aggregation))
	}
	if math.IsNaN(r.Shrinkage) || r.Shrinkage <= 0 || r.Shrinkage > 1 {
		p.add("routing.shrinkage", "must be above 0 and at most 1, got %v", r.Shrinkage)
	}
	if r.TopK < 1 {
		p.add("routing.top_k", "must be at least 1")
	}
	checkFallback(p, "routing.fallback", r.Fallback)
	if r.MaxRetries < 0 {
		p.add("routing.max_retries", "must not be negative")
	}
	checkDuration(p, "routing.discovery_ttl", r.DiscoveryTTL)
	if r.Turns < 1 {
		p.add("routing.turns", "must be at least 1")
	}
	if r.Margin < 0 || r.Margin > 2 || math.IsNaN(r.Margin) {
		p.add("routing.margin", "must be between 0 and 2")
	}
	if r.TurnDecay < 0 || r.TurnDecay > 1 || math.IsNaN(r.TurnDecay) {
		p.add("routing.turn_decay", "must be between 0 and 1")
	}
	if s := r.Sticky; s.Enabled {
		if s.Margin < 0 || s.Margin > 2 || math.IsNaN(s.Margin) {
			p.add("routing.sticky.margin", "must be between 0 and 2")
		}
		if s.TTL <= 0 {
			p.add("routing.sticky.ttl", "must be positive")
		}
		if s.MaxSessions < 1 {
			p.add("routing.sticky.max_sessions", "must be at least 1")
		}
	}
}

func (j *Judge) validate(p *problems, providers map[string]bool) {
	switch {
	case j.Provider == "" && strings.Contains(j.Model, "/"):
		prefix, _, _ := strings.Cut(j.Model, "/")
		p.add("judge.model", "%q names no provider: %q is not a provider%s", clip(j.Model), clip(prefix), suggest(prefix, keysOf(providers)))
	case j.Provider == "" && j.Model != "":
		p.add("judge.provider", "required with judge.model (or write the model as provider/model)")
	case j.Provider == "":
	case !providers[j.Provider]:
		p.add("judge.provider", "unknown provider %q%s", clip(j.Provider), suggest(j.Provider, keysOf(providers)))
	}
	if j.Provider != "" && strings.TrimSpace(j.Model) == "" {
		p.add("judge.model", "required with judge.provider")
	}
	if j.Provider == "" && j.When.Always {
		p.add("judge.when.always", "needs judge.provider: with no judge there is nothing to ask")
	}
	if m := j.When.Margin; m < 0 || m > 2 || math.IsNaN(m) {
		p.add("judge.when.margin", "must be between 0 and 2")
	}
	if j.Timeout <= 0 {
		p.add("judge.timeout", "must be positive")
	}
	if j.MaxTokens < 1 {
		p.add("judge.max_tokens", "must be at least 1")
	}
	if j.Candidates < 1 {
		p.add("judge.candidates", "must be at least 1")
	}
	if j.CacheSize < 0 {
		p.add("judge.cache_size", "must not be negative")
	}
}

func (s *Server) validate(p *problems) {
	if s.MaxBodyBytes <= 0 {
		p.add("server.max_body_bytes", "must be positive")
	}
	if s.ShutdownGrace <= 0 {
		p.add("server.shutdown_grace", "must be positive")
	}
	if s.ReadHeaderTimeout <= 0 {
		p.add("server.read_header_timeout", "must be positive")
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"server.read_timeout", s.ReadTimeout}, {"server.write_timeout", s.WriteTimeout}, {"server.idle_timeout", s.IdleTimeout}} {
		if d.v <= 0 {
			p.add(d.key, "must be positive")
		}
	}
	if s.MaxAnswerBytes < 1<<10 {
		p.add("server.max_answer_bytes", "must be at least 1024")
	}
	if s.MaxEventBytes < 1<<10 {
		p.add("server.max_event_bytes", "must be at least 1024")
	}
	if s.MinHeapBytes < 0 {
		p.add("server.min_heap_bytes", "must not be negative (0 keeps Go's own garbage collection policy)")
	}
}

func (l *Log) validate(p *problems) {
	switch l.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		p.add("log.level", "unknown level %q (want trace, debug, info, warn or error)", clip(l.Level))
	}
	switch l.Format {
	case "json", "console":
	default:
		p.add("log.format", "unknown format %q (want json or console)", clip(l.Format))
	}
}

// checkThreshold bounds a threshold by the scale of the aggregation's
// scores: cosines for max and mean, the discriminant's rescaled score
// (mostly within ±2) for lda.
func checkThreshold(p *problems, at string, v float64, aggregation string) {
	bound := 1.0
	if aggregation == AggregateLDA {
		bound = 10
	}
	if math.IsNaN(v) || v < -bound || v > bound {
		p.add(at, "must be between %v and %v, got %v", -bound, bound, v)
	}
}

func checkDuration(p *problems, at string, d time.Duration) {
	if d < 0 {
		p.add(at, "must not be negative")
	}
}

// checkURL requires an absolute http or https URL.
func checkURL(p *problems, at, s string) {
	if s == "" {
		p.add(at, "required")
		return
	}
	u, err := url.Parse(s)
	if err != nil {
		p.add(at, "want an http or https url like http://host:port")
		return
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(at, "want an http or https url, got %q", clip(u.Redacted()))
		return
	}
	if u.User != nil {
		// Credentials in a URL end up in logs; keys belong in the env.
		p.add(at, "must not hold credentials")
	}
}

// checkEnvName requires a plausible environment variable name. The value
// is never echoed: a key pasted here by mistake must not reach a log.
func checkEnvName(p *problems, at, name string) {
	if name != "" && !isEnvName(name) {
		p.add(at, "not an environment variable name (give the variable's name, not the key)")
	}
}

func isEnvName(name string) bool {
	for i, r := range name {
		if r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9' {
			continue
		}
		return false
	}
	return name != ""
}

// Warnings reports what a valid config will do that is likely unintended
// but not wrong, given the environment getenv reads: an api_key_env or
// headers_env naming a variable that is unset or empty, so that the
// upstream gets no key or no header. Each warning starts with the key's
// path and names the variable, never its value. admin.token_env is left
// out: serve reports it itself, as it turns the admin endpoints off.
func (c *Config) Warnings(getenv func(string) string) []string {
	var out []string
	unset := func(at, name, what string) {
		// A name that is not a variable's (a pasted key) fails Validate;
		// it is not echoed here either.
		if isEnvName(name) && getenv(name) == "" {
			out = append(out, fmt.Sprintf("%s: %s is unset or empty, so %s", at, name, what))
		}
	}
	if c.Embedder.Kind == EmbedderOpenAI && c.Embedder.APIKeyEnv != "" {
		unset("embedder.api_key_env", c.Embedder.APIKeyEnv, "the embedder sends no API key")
	}
	for i, pr := range c.Providers {
		at := "providers[" + strconv.Itoa(i) + "]"
		if pr.APIKeyEnv != "" {
			unset(at+".api_key_env", pr.APIKeyEnv, fmt.Sprintf("provider %q sends no API key", pr.Name))
		}
		for _, h := range keysOf(pr.HeadersEnv) {
			unset(at+".headers_env["+h+"]", pr.HeadersEnv[h], fmt.Sprintf("provider %q sends no %s header", pr.Name, h))
		}
	}
	for i, k := range c.APIKeys {
		if k.KeyEnv != "" {
			unset("api_keys["+strconv.Itoa(i)+"].key_env", k.KeyEnv, fmt.Sprintf("client key %q is not accepted", k.Name))
		}
	}
	return out
}

// checkHeader requires an HTTP token and refuses headers switchyard sets
// itself.
func checkHeader(p *problems, at, name string) {
	if name == "" {
		p.add(at, "empty header name")
		return
	}
	for _, r := range name {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			p.add(at, "not a valid header name")
			return
		}
	}
	switch strings.ToLower(name) {
	case "host", "content-length", "content-type", "transfer-encoding", "connection":
		p.add(at, "set by switchyard, cannot be configured")
	}
}
