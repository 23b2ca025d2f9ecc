package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard-router/switchyard/providers/providertest"
)

// A MAS file cannot name an admin token variable; exporting
// SWITCHYARD_ADMIN_TOKEN (admin.token_env's default) turns the admin
// endpoints on, and they stay off without it.
func TestAdminTokenFromTheEnvironmentWithAMASFile(t *testing.T) {
	up := providertest.OpenAI(t, providertest.Script{Text: "ok"})
	path := filepath.Join(t.TempDir(), "mas.json")
	mas := fmt.Sprintf(`{"baseURL": %q, "apiKey": "sk-test", "models": [{"condition": "", "model": "gpt-4o-mini"}]}`, up.URL)
	if err := os.WriteFile(path, []byte(mas), 0o644); err != nil {
		t.Fatal(err)
	}
	status := func(addr, token string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+"/admin/status", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tt := range []struct {
		name  string
		vars  map[string]string
		token string
		want  int
	}{
		{"token exported", map[string]string{"SWITCHYARD_ADMIN_TOKEN": "s3cret-admin"}, "s3cret-admin", http.StatusOK},
		{"wrong token", map[string]string{"SWITCHYARD_ADMIN_TOKEN": "s3cret-admin"}, "guess", http.StatusUnauthorized},
		{"not exported", nil, "s3cret-admin", http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr, stop, logs := startServe(t, tt.vars, "--config", path, "--listen", "127.0.0.1:0")
			defer stop()
			if got := status(addr, tt.token); got != tt.want {
				t.Errorf("GET /admin/status: %d, want %d\n%s", got, tt.want, logs.String())
			}
		})
	}
}
