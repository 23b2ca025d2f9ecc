package proxy

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"
)

// model is one entry of GET /v1/models, in OpenAI's format.
type model struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // always "model"
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// models is what GET /v1/models lists: "auto", the routes and configured
// models (Runtime.Models, each served model also as provider/model), then
// the discovered models not among them, owned by the first provider that
// lists each, then each discovered model as provider/model for every
// provider that lists it.
func (s *Server) models(rt *Runtime) []model {
	created := s.started.Unix()
	data := []model{{ID: "auto", Object: "model", Created: created, OwnedBy: "switchyard"}}
	seen := map[string]bool{"auto": true}
	for _, m := range rt.Models {
		if !seen[m.ID] {
			seen[m.ID] = true
			data = append(data, model{ID: m.ID, Object: "model", Created: created, OwnedBy: m.OwnedBy})
		}
	}
	if rt.Discovery != nil {
		discovered := rt.Discovery.Models()
		for _, m := range discovered {
			if !seen[m.ID] && len(m.Providers) > 0 {
				seen[m.ID] = true
				data = append(data, model{ID: m.ID, Object: "model", Created: created, OwnedBy: m.Providers[0]})
			}
		}
		var named []model
		for _, m := range discovered {
			for _, p := range m.Providers {
				if id := p + "/" + m.ID; !seen[id] {
					seen[id] = true
					named = append(named, model{ID: id, Object: "model", Created: created, OwnedBy: p})
				}
			}
		}
		slices.SortFunc(named, func(a, b model) int { return strings.Compare(a.ID, b.ID) })
		data = append(data, named...)
	}
	return data
}

// handleModels serves GET /v1/models in OpenAI's list format.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	rt := s.runtime(r)
	if _, err := rt.authenticate(r); err != nil {
		writeOpenAIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": s.models(rt)})
}

// handleRefreshModels serves POST /admin/models/refresh: every
// discovering provider is listed now; the answer is GET /v1/models' list
// afterwards, what each provider serves, and each provider's error. A
// provider that fails keeps its previous list, so the status is 200
// either way.
func (s *Server) handleRefreshModels(w http.ResponseWriter, r *http.Request) {
	rt := s.runtime(r)
	body := map[string]any{"object": "list"}
	errs := map[string]string{}
	if rt.Discovery != nil {
		// A refresh that has started is recorded even if the client goes.
		rt.Discovery.Refresh(context.WithoutCancel(r.Context()))
		body["discovered"] = rt.Discovery.Models()
		body["providers"] = rt.Discovery.Sources()
		for _, st := range rt.Discovery.Sources() {
			if st.Error != "" {
				errs[st.Provider] = st.Error
			}
		}
	} else {
		body["discovered"], body["providers"] = []any{}, []any{}
	}
	body["data"], body["errors"] = s.models(rt), errs
	writeJSON(w, http.StatusOK, body)
}

// handleProviders serves GET /admin/providers: every target's circuit
// breaker and recent record, and each discovering provider's listings.
func (s *Server) handleProviders(w http.ResponseWriter, r *http.Request) {
	rt := s.runtime(r)
	body := map[string]any{"targets": []any{}, "discovery": []any{}}
	if rt.Health != nil {
		body["targets"] = rt.Health.Status(time.Now())
	}
	if rt.Discovery != nil {
		body["discovery"] = rt.Discovery.Sources()
	}
	writeJSON(w, http.StatusOK, body)
}
