package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/switchyard-router/switchyard/config"
)

// repoRoot is the repository's top directory (tests run in cmd/switchyard).
const repoRoot = "../.."

// TestDockerfile checks what can be checked without a Docker daemon
// (scripts/docker-build.sh builds the image where there is one): the Go
// version is go.mod's toolchain, the files the build uses exist and are
// not excluded by .dockerignore, the final stage runs as non-root, and
// the commands it runs exist.
func TestDockerfile(t *testing.T) {
	df := readRepoFile(t, "Dockerfile")
	gomod := readRepoFile(t, "go.mod")
	toolchain := regexp.MustCompile(`(?m)^toolchain go(\S+)$`).FindStringSubmatch(gomod)
	if toolchain == nil || !strings.Contains(df, "ARG GO_VERSION="+toolchain[1]+"\n") {
		t.Errorf("Dockerfile's GO_VERSION is not go.mod's toolchain %v", toolchain)
	}
	for _, f := range []string{"go.mod", "go.sum", "scripts/fetch-model.sh"} {
		if !strings.Contains(df, f) {
			t.Errorf("the Dockerfile no longer uses %s: update this test", f)
		}
		if _, err := os.Stat(filepath.Join(repoRoot, f)); err != nil {
			t.Errorf("the Dockerfile uses %s: %v", f, err)
		}
	}
	if !strings.Contains(df, "./cmd/switchyard") || !strings.Contains(df, "CGO_ENABLED=0") {
		t.Error("the Dockerfile does not build ./cmd/switchyard statically")
	}
	final := df[strings.LastIndex(df, "\nFROM "):]
	if !strings.Contains(final, "USER 65532:65532") || !strings.Contains(final, "distroless/static") {
		t.Errorf("final stage is not distroless static as non-root:\n%s", final)
	}
	for _, want := range []string{"SWITCHYARD_LISTEN=0.0.0.0:8080", "SWITCHYARD_WORKSPACE=/workspace", "SWITCHYARD_MODELS=/models", "EXPOSE 8080"} {
		if !strings.Contains(final, want) {
			t.Errorf("final stage lacks %s", want)
		}
	}
	// The health check and the default command are real commands.
	for _, args := range [][]string{{"health", "--help"}, {"serve", "--help"}, {"model", "verify", "--help"}} {
		if r := runCmd(t, nil, "", args...); r.code != 0 {
			t.Errorf("%v: exit %d %s", args, r.code, r.stderr)
		}
	}
	if !strings.Contains(df, `CMD ["/usr/local/bin/switchyard", "health", "--url", "http://127.0.0.1:8080"]`) {
		t.Error("HEALTHCHECK does not run switchyard health")
	}

	// .dockerignore must not drop what the build reads.
	ignored := []string{}
	sc := bufio.NewScanner(strings.NewReader(readRepoFile(t, ".dockerignore")))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			ignored = append(ignored, strings.TrimPrefix(l, "/"))
		}
	}
	for _, need := range []string{"go.mod", "go.sum", "scripts", "cmd", "embed", "tasks", "web", "console"} {
		if slices.Contains(ignored, need) {
			t.Errorf(".dockerignore drops %s, which the build needs", need)
		}
	}
}

// TestCompose: compose.yaml's services, and the team profile's variables
// turning into the config keys they are meant to set.
func TestCompose(t *testing.T) {
	var c struct {
		Services map[string]struct {
			Build       string            `yaml:"build"`
			Image       string            `yaml:"image"`
			Ports       []string          `yaml:"ports"`
			Profiles    []string          `yaml:"profiles"`
			Volumes     []string          `yaml:"volumes"`
			Environment map[string]string `yaml:"environment"`
			DependsOn   map[string]struct {
				Required *bool `yaml:"required"`
			} `yaml:"depends_on"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal([]byte(readRepoFile(t, "compose.yaml")), &c); err != nil {
		t.Fatal(err)
	}
	sy, ok := c.Services["switchyard"]
	if !ok || sy.Build != "." || len(sy.Profiles) != 0 || !slices.Contains(sy.Ports, "127.0.0.1:8080:8080") || !slices.Contains(sy.Volumes, "switchyard:/workspace") {
		t.Errorf("switchyard service: %+v", sy)
	}
	for _, name := range []string{"redis", "postgres"} {
		s, ok := c.Services[name]
		if !ok || !slices.Equal(s.Profiles, []string{"team"}) {
			t.Errorf("%s: want a service in profile team, got %+v", name, s)
		}
		if d, ok := sy.DependsOn[name]; !ok || d.Required == nil || *d.Required {
			t.Errorf("switchyard must depend on %s with required: false (it is optional)", name)
		}
	}

	// The team env file's values, substituted as compose would, set
	// state.redis.url and usage.store; without it the overrides are empty
	// and the defaults stay.
	team := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(readRepoFile(t, "compose.team.env")))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			team[k] = v
		}
	}
	if team["COMPOSE_PROFILES"] != "team" {
		t.Errorf("compose.team.env does not turn on the team profile: %v", team)
	}
	subst := regexp.MustCompile(`^\$\{(\w+):-([^}]*)\}$`)
	environ := func(vars map[string]string) func() []string {
		return func() []string {
			var out []string
			for k, v := range sy.Environment {
				if m := subst.FindStringSubmatch(v); m != nil {
					v = m[2]
					if val, ok := vars[m[1]]; ok {
						v = val
					}
				}
				out = append(out, k+"="+v)
			}
			return out
		}
	}
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("listen: 127.0.0.1:8080\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgFile, environ(team), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.State.Redis.URL != "redis://redis:6379/0" || cfg.Usage.Store != config.UsagePostgres || cfg.Usage.PostgresURLEnv != "SWITCHYARD_POSTGRES_URL" {
		t.Errorf("team config: redis %q, usage store %q via %s", cfg.State.Redis.URL, cfg.Usage.Store, cfg.Usage.PostgresURLEnv)
	}
	if _, ok := sy.Environment[cfg.Usage.PostgresURLEnv]; !ok {
		t.Errorf("compose does not pass %s, the variable usage.postgres_url_env names", cfg.Usage.PostgresURLEnv)
	}
	solo, err := config.Load(cfgFile, environ(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if solo.State.Redis.URL != "" || solo.Usage.Store != config.UsageSQLite {
		t.Errorf("solo config: redis %q, usage store %q; want the defaults", solo.State.Redis.URL, solo.Usage.Store)
	}
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
