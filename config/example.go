package config

// Example returns a commented example config that loads and validates as
// it is. It mentions every key.
func Example() []byte {
	return []byte(example)
}

const example = `# switchyard configuration.
#
# Clients send OpenAI chat completions with no model (or model "auto");
# switchyard embeds the conversation, scores it against every route below
# and forwards it to the best route's targets, in order, until one answers.
# A client may also ask for a route, an alias or a provider's model by name.
#
# Every key may be left out: it keeps the default shown here, except where
# a value is marked "example value", a choice of this example (the comment
# gives the default). Names and lists (providers, routes, aliases, prices,
# api_keys) are examples throughout. Durations are Go duration strings
# ("30s", "2m", "1h30m"); sizes are bytes.
#
# Environment overrides: SWITCHYARD_ + the key in upper case, "__" between
# levels: SWITCHYARD_LISTEN=:9000, SWITCHYARD_ROUTING__TOP_K=3,
# SWITCHYARD_LOG__LEVEL=debug. Flags win over both: --listen :9000.
#
# Check a config with:  switchyard config check --config FILE

# Address to serve the OpenAI-compatible API on, host:port.
# ":8080" listens on every interface.
listen: 127.0.0.1:8080

# The embedder turns text into vectors for routing.
embedder:
  # local:  the built-in model, in-process, offline (default).
  # ollama: an Ollama server (needs url and model).
  # openai: an OpenAI-compatible /embeddings API (needs url and model).
  kind: local
  model: all-MiniLM-L6-v2
  # For ollama or openai only, e.g. http://127.0.0.1:11434 or
  # https://api.openai.com/v1:
  # url: https://api.openai.com/v1
  # For openai only: the NAME of the environment variable holding the key.
  # api_key_env: OPENAI_API_KEY
  # Bound on one remote embedding call; 0 = none.
  timeout: 30s
  # Query embeddings kept in memory (LRU entries); 0 disables the cache.
  cache_size: 4096
  # For local only: the arithmetic of the model's linear layers. int8 is
  # 2.5-4.5x faster, its vectors at a median cosine of 0.999 to fp32's
  # (0.98 at worst); auto is int8 with AVX2 or AVX-512, fp32 without.
  precision: auto                    # auto, fp32 or int8

# Upstream LLM APIs. Targets refer to them by name.
providers:
  - name: openai
    kind: openai                     # openai (any compatible API), ollama, anthropic or ocf (an OCF node)
    base_url: https://api.openai.com/v1
    # The NAME of the environment variable holding the API key, never the
    # key itself. Leave out to send no key.
    api_key_env: OPENAI_API_KEY
    # Bound on one upstream call (for a stream: until its headers);
    # absent or 0 = 10m.
    timeout: 120s                    # example value; default 10m
    # More models clients may ask for by name (route targets count already).
    models: [gpt-4o-mini, o3-mini]
    # Extra headers on every upstream request. extra_headers is the same
    # thing under the name other gateways use; a header may be in one only.
    headers:
      X-Title: switchyard
    extra_headers:
      HTTP-Referer: https://github.com/switchyard-router/switchyard
    # Secret headers: header name -> NAME of the environment variable
    # holding its value.
    headers_env:
      OpenAI-Organization: OPENAI_ORG_ID
    # Request fields never sent to this provider (for servers that reject
    # what others accept).
    exclude_params: [thinking]
    # Failover and health. Targets are tried by priority (lower first),
    # then, within a priority, at random in proportion to weight when any
    # target has one, else in list order. A target's own priority and
    # weight override the provider's.
    priority: 0
    # Consecutive failures (5xx, 429, timeouts, refused or cut
    # connections, garbage) that open a model's circuit; it stays open for
    # recovery_interval, then one real request probes it. A refused key
    # (401/403) opens it at once; Retry-After pauses it.
    max_failures: 5
    recovery_interval: 30s
    # List the provider's models this often as a health check; 0 (the
    # default) = off. A remote API is worth checking every minute or so.
    health_check_period: 0s
    # A stream must send its first content (text, reasoning, a tool call)
    # within this, or the next target is tried; absent or 0 = 5m.
    first_byte_timeout: 15s          # example value; default 5m
    # Once it has, each next chunk must come within this, or the stream
    # ends with an error; absent or 0 = 5m.
    stream_idle_timeout: 5m
    # Add the provider's own model list (GET /models; Ollama's
    # /api/tags) to the models clients may ask for by name.
    discover: false

  - name: home
    kind: ollama
    base_url: http://127.0.0.1:11434
    timeout: 300s                    # example value; default 10m (local models can be slow to load)
    priority: 1                      # example value; default 0 (used when openai's targets are down)

# Routes: a plain-language condition and optional example utterances,
# embedded once at start-up. A request goes to the route whose best
# top_k utterances score highest, if that clears the route's threshold;
# otherwise to default_route.
routes:
  - name: code
    condition: "programming, code examples, debugging, software errors"
    examples:
      - fix this stack trace
      - write a function that parses dates
      - why does my Go program deadlock
      - my React component renders twice, what am I doing wrong
      - convert this loop into a list comprehension
      - NullPointerException when I call the service from the controller
      - write a SQL query that joins orders with customers
      - how do I set up a GitHub Actions workflow for a Node project
      - review this pull request diff for bugs
      - segfault in my C program when freeing memory
      - explain what this regular expression matches
      - add type hints to this Python class
    # Requests this route must not take (near misses, as "switchyard
    # routes expand" writes them): one nearer to a negative than to any
    # of the route's own utterances does not clear it. Optional.
    negatives:
      - write a short story about a programmer who falls in love
    ground: false                    # example value; default routing.ground
    threshold: 0.20                  # example value; default routing.threshold
    targets:                         # tried in order
      - {provider: openai, model: gpt-4o}
      - {provider: home, model: qwen2.5-coder}
    fallback: priority               # example value; default routing.fallback

  - name: math
    condition: "mathematics, equations, proofs, arithmetic, statistics"
    examples:
      - solve for x in 3x + 7 = 22
      - prove that the square root of 2 is irrational
      - what is the derivative of x^2 sin x
      - integrate e^(2x) from 0 to 1
      - what is 17% of 240
      - find the eigenvalues of this 2x2 matrix
      - probability of rolling two sixes with two dice
      - compute the standard deviation of 4, 8, 15, 16, 23, 42
      - is 391 a prime number
      - simplify (x^2 - 9) / (x - 3)
    targets:
      - {provider: openai, model: o3-mini}
      - {provider: home, model: qwen2.5-math}

  - name: creative
    condition: "creative writing, stories, poems, song lyrics, fiction"
    examples:
      - write a haiku about autumn rain
      - tell me a bedtime story about a brave turtle
      - write a sonnet about a lighthouse keeper
      - lyrics for a country song about a broken truck
      - the opening paragraph of a noir detective novel
      - a limerick about a cat who hates Mondays
      - invent a fantasy kingdom and describe its capital city
      - write a short scene where two robots fall in love
      - a rap verse about drinking too much coffee
      - "continue this story: the door creaked open and"
    targets:
      - {provider: openai, model: gpt-4o}
      - {provider: home, model: llama3.1}

  - name: translation
    condition: "translate text from one language to another"
    examples:
      - translate this paragraph into French
      - what is the Japanese word for umbrella
      - what does "Schadenfreude" mean in English
      - put this email into Spanish, keep it formal
      - translate to German, please
      - how would a native speaker say this in Italian
      - traduce esto al inglés
      - traduis ce texte en anglais
      - übersetze diesen Satz ins Englische
      - render this menu in Portuguese
    threshold: 0.35                  # example value; default routing.threshold
    targets:
      - {provider: openai, model: gpt-4o-mini}
      - {provider: home, model: aya-expanse}

  - name: summarise
    condition: "summarise or shorten a long text, meeting notes, articles"
    examples:
      - summarise this article in three bullet points
      - give me a tl;dr of these meeting notes
      - condense this report into one paragraph
      - what are the key points of this transcript
      - shorten this to under 100 words
      - make an executive summary of the document below
      - boil this thread down to the decisions we made
      - recap this chapter for me
      - list the main takeaways from this paper
      - summarize the following customer reviews
    targets:
      - {provider: openai, model: gpt-4o-mini}
      - {provider: home, model: llama3.1}

  # No condition and no examples: reached only as default_route, or by name.
  - name: chat
    targets:
      - {provider: home, model: llama3.1}
      - {provider: openai, model: gpt-4o-mini}

# The route taken when no route clears its threshold. Required when there
# are routes.
default_route: chat

# Public model names served by a chain of targets, tried in order: a
# client asking for model "fast" gets this chain, without routing.
aliases:
  # A target's priority and weight override its provider's: here both
  # share priority 0 and split requests 3 to 1.
  fast:
    - {provider: home, model: llama3.1, priority: 0, weight: 3}
    - {provider: openai, model: gpt-4o-mini, priority: 0, weight: 1}
  # A target may name its provider in the model instead: provider/model.
  mini:
    - {model: openai/gpt-4o-mini}

# An alias's fallback strategy (see routing.fallback), when not the default.
alias_fallback:
  mini: none

routing:
  # Minimum score for a route to match, unless the route sets its own: a
  # cosine similarity (-1 to 1) for max and mean. all-MiniLM-L6-v2's
  # cosines run low: related texts often score 0.2-0.5. The default, auto,
  # calibrates each route's threshold on the built-in task library (and
  # means no threshold when default_route has a condition of its own);
  # this example's routes have many examples and thresholds fitted on the
  # team's corpus, so it sets a number.
  threshold: 0.25                    # example value; default auto
  # How a route's score is computed from its utterances: max (cosine of
  # the nearest), mean (mean cosine of the top_k nearest), lda (a linear
  # discriminant learnt from the utterances; best with many examples per
  # route, on its own score scale), or auto (the default): lda when every
  # threshold is auto and default_route has no condition, else max.
  # switchyard fit picks one.
  aggregation: max                   # example value; default auto
  # Ground each route's condition in the built-in task library: the
  # library's prompts of the task types a condition names become the
  # route's pseudo-examples (switchyard routes ground shows them). The
  # default is true, for routes written as conditions alone; this
  # example's routes carry their own examples and thresholds fitted
  # without grounding, so it is off here.
  ground: false                      # example value; default true
  # Pseudo-examples one route takes from the library, at most; 0 = auto
  # (100 with calibrated thresholds, 300 when default_route has a condition).
  ground_examples: 0
  # Also score the instruction parts of a request (the text before pasted
  # code, a stack trace or an article), not only the whole text.
  segments: true
  # Utterances per route that mean averages.
  top_k: 5
  # lda only: weight of the identity in its covariance, above 0, at most 1.
  shrinkage: 0.2
  # A condition written as a list ("a, b, c") is indexed whole and part by
  # part; true indexes it only whole.
  whole_conditions: false
  # Attempts beyond one per available target: after every target of a
  # chain failed once (429, 5xx, timeout...), up to this many more go
  # round them again after a backoff. Never after a stream has started.
  max_retries: 2
  # What a chain does when a target fails: priority (the next target, by
  # priority then weight), same-model (first the failed target's model on
  # every other provider known to serve it: providers' models lists,
  # other targets, discovered models; then the next target) or none (one
  # attempt at the first available target: no failover, no retry).
  # routes[].fallback and alias_fallback set it per route and alias.
  fallback: priority
  # How long discovered model lists (providers with discover: true) are
  # cached; POST /admin/models/refresh refreshes them at once.
  discovery_ttl: 10m
  # Route on the last N user turns of a conversation.
  turns: 1
  # With turns above 1, each turn is embedded on its own and the route is
  # chosen on their weighted sum: 1 for the last turn, turn_decay for the
  # one before, turn_decay^2 before that. 1 weighs them equally; 0 embeds
  # the turns joined as one text.
  turn_decay: 0.5
  # Refuse (take default_route) when the best route beats the second by
  # less than this; 0 turns the rule off. switchyard fit tunes it.
  margin: 0
  # Sticky routing: a conversation (its X-Switchyard-Session header, or a
  # hash of its system and user turns) keeps its route through follow-ups
  # like "make it shorter", unless the new turn's best route beats the
  # conversation's route by more than margin. See "Conversations" in
  # docs/routing.md for the rules.
  sticky:
    enabled: false
    margin: 0.35                     # follow-ups' words can match other routes
    ttl: 30m                         # forget a conversation idle this long
    max_sessions: 10000              # conversations remembered (LRU entries)

# An LLM judge for the requests the embedding is unsure about: when no
# route clears its threshold, or the best two are closer than
# when.margin, a small model is shown the best-scoring routes (name and
# condition) and "none", and asked to choose one. Its answer is used when
# it names a candidate ("none" takes default_route); a timeout, an error
# or any other answer leaves the embedding decision standing. Off unless
# provider is set; any provider kind works.
judge:
  # provider: openai                 # a provider above; leave out for no judge
  # model: gpt-4o-mini
  when:
    below_threshold: true            # ask when no route cleared its threshold
    margin: 0                        # ask when the best two are closer; 0 = off
    always: false                    # ask about every request (MAS's method)
  timeout: 1.5s                      # past it, the embedding decision stands
  max_tokens: 64                     # the answer's budget (a tool call)
  candidates: 4                      # best-scoring routes offered, besides "none"
  cache_size: 4096                   # verdicts kept (LRU entries); 0 = no cache

server:
  max_body_bytes: 4194304            # request body limit, 4 MiB
  shutdown_grace: 30s                # in-flight requests may finish
  read_header_timeout: 10s
  read_timeout: 60s                  # a request's headers and body
  write_timeout: 60s                 # a whole answer, or each event of a stream
  idle_timeout: 120s                 # a keep-alive connection between requests
  max_answer_bytes: 16777216         # an upstream's non-streamed answer, 16 MiB
  max_event_bytes: 4194304           # one event of an upstream's stream, 4 MiB
  min_heap_bytes: 25165824           # GC heap floor, 24 MiB; 0 = Go's own (as is GOGC set)

log:
  level: info                        # trace, debug, info, warn, error
  format: json                       # json or console

# The /admin endpoints: GET /admin/status, POST /admin/reload (the config
# also reloads when this file changes, and on SIGHUP) and POST
# /admin/explain (the routing decision for a chat request, no upstream
# call). Off unless the variable named here holds a token, or a client
# key has the admin role; requests then need "Authorization: Bearer" with
# the token or that key.
admin:
  # The NAME of the environment variable holding the token.
  token_env: SWITCHYARD_ADMIN_TOKEN

# Client API keys. None (the default): the API is open to anyone who can
# reach it, and serve says so at start. With any, every API request needs
# one, as "Authorization: Bearer <key>", "x-api-key: <key>" or a bare
# "Authorization: sk-...": 401 without, 403 for a model the key may not
# use, 429 with Retry-After past a limit. A key is given as the NAME of
# the variable holding it or as its SHA-256, never itself.
auth:
  # A first start with no keys anywhere creates an admin key, prints it
  # once and keeps its hash in the key store (switchyard keys).
  generate_key: false
# api_keys:
#   - name: alice                    # in logs and errors
#     key_env: ALICE_API_KEY         # or sha256: <64 hex digits of sha256sum>
#     roles: [user]                  # user (the API); admin (and /admin)
#     disabled: false
#     expires: 2027-01-01T00:00:00Z  # RFC 3339; absent = never
#     models: [code, gpt-4o-mini]    # models, routes, aliases; absent = any
#     requests_per_minute: 60        # limits, over sliding windows; 0 = none
#     tokens_per_minute: 100000      # prompt + completion, as upstreams report
#     requests_per_day: 5000
#     tokens_per_day: 2000000
#     budget_day: 5.00               # USD per UTC day, by the usage store's costs; 0 = none
#     budget_month: 100.00           # USD per UTC month

# Prometheus metrics at GET /metrics: requests, latency and time to first
# token, tokens and cost by model and key, routing decisions, the judge,
# upstream attempts, circuit breakers, reloads. On the main listener they
# need the admin credentials when the admin endpoints are on; a listener
# of their own (metrics.listen) is open, for a private network.
metrics:
  enabled: true
  # listen: 127.0.0.1:9464

# The web console at http://<listen>/: the routing playground, live
# traffic, providers' circuits. Its data needs an admin key or the admin
# token, as the admin endpoints do.
console:
  enabled: true
  # eval_data: /etc/switchyard/corpus.jsonl  # the quality screen's labelled corpus

# OpenTelemetry traces over OTLP: a span per request, with the routing
# decision (embed, classify, judge) and each upstream attempt beneath it;
# W3C trace context goes on to the upstreams. Off by default.
tracing:
  enabled: false
  protocol: http                     # or grpc
  # endpoint: http://localhost:4318  # absent = OTEL_EXPORTER_OTLP_ENDPOINT, else the default
  # insecure: false                  # grpc: no TLS to the collector
  sample_ratio: 1                    # share of traces kept when the client sent no decision
  # headers_env: {x-api-key: OTLP_API_KEY}

# State several replicas share through Redis (or Valkey): key limits and
# budget spend (atomic), sticky sessions, the judge's verdicts, circuit
# openings. Off by default. When Redis is down every replica serves on its
# own state and says so (/admin/status, switchyard_shared_state_up).
state:
  redis:
    # url: redis://127.0.0.1:6379/0   # no password here; with one, use url_env
    # url_env: SWITCHYARD_REDIS_URL
    timeout: 100ms                   # per call; past it the request goes on locally
    prefix: "switchyard:"

# The usage store: one row per request (key, route, how it was decided,
# provider, model, status, tokens, latency, cost), written in batches off
# the request path; read with "switchyard stats" and GET /admin/usage.
usage:
  enabled: true
  store: sqlite                      # or postgres: one database for several replicas
  # path: /var/lib/switchyard/usage.db  # sqlite; absent = ~/.local/share/switchyard/usage.db
  # postgres_url_env: SWITCHYARD_POSTGRES_URL  # postgres: the variable holding its URL
  retention: 2160h                   # 90 days; 0 keeps rows forever
  queue: 10000                       # rows waiting to be written; more are dropped and counted

# The conversation log: one JSON line per chat request with what the
# client sent and got back; read with "switchyard logs". Off by default.
conversation_log:
  enabled: false
  # path: /var/log/switchyard/conversations.jsonl  # absent = beside the usage store
  max_size_mb: 100                   # rotated past this size
  max_backups: 5                     # rotated files kept
  redact: none                       # none, or content: texts replaced by their length

# Prices in USD per million tokens, by the model name the upstream knows;
# they replace the shipped list prices (2025) model by model.
prices:
  gpt-4o-mini: {input: 0.15, output: 0.60, cached_input: 0.075}
`
