package config

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/switchyard-router/switchyard/providers"
)

// exampleMarker marks a value in the example config that is the example's
// own choice rather than the default; the comment gives the default.
const exampleMarker = "example value"

// content keys name things (providers, models, routes) or hold the
// example's own lists: they have no default to show.
var contentKeys = map[reflect.Type]map[string]bool{
	reflect.TypeFor[Provider](): {"name": true, "kind": true, "base_url": true, "api_key_env": true, "models": true,
		"headers": true, "extra_headers": true, "headers_env": true, "exclude_params": true},
	reflect.TypeFor[Route]():  {"name": true, "condition": true, "examples": true, "negatives": true, "targets": true},
	reflect.TypeFor[Config](): {"default_route": true, "aliases": true, "prices": true, "api_keys": true},
}

// The example says every key it sets keeps its default unless marked:
// every value it sets, outside the names and lists that are its content,
// equals config.Default()'s (a provider's, the defaults a bare provider
// gets), or carries the marker.
func TestExampleShowsTheDefaults(t *testing.T) {
	got, err := Load(writeFile(t, "example.yaml", string(Example())), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(Example(), &doc); err != nil {
		t.Fatal(err)
	}
	checked := 0
	compareDefaults(t, doc.Content[0], reflect.ValueOf(got).Elem(), reflect.ValueOf(Default()).Elem(), "", &checked)
	if checked < 50 {
		t.Errorf("only %d keys compared; the walk missed the example's sections", checked)
	}
}

// bareProvider is what a provider the config sets nothing but its name,
// kind and URL for gets.
func bareProvider() Provider {
	return Provider{Timeout: DefaultUpstreamTimeout, FirstByteTimeout: DefaultFirstByteTimeout, StreamIdleTimeout: DefaultStreamIdleTimeout,
		MaxFailures: providers.DefaultMaxFailures, RecoveryInterval: providers.DefaultRecoveryInterval}
}

func compareDefaults(t *testing.T, m *yaml.Node, got, def reflect.Value, at string, checked *int) {
	t.Helper()
	typ := got.Type()
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		path := strings.TrimPrefix(at+"."+k.Value, ".")
		if strings.Contains(v.LineComment, exampleMarker) || strings.Contains(k.LineComment, exampleMarker) {
			continue
		}
		if contentKeys[typ][k.Value] {
			continue
		}
		f, ok := fieldByKey(typ, k.Value)
		if !ok {
			t.Errorf("%s: no such key", path)
			continue
		}
		g, d := got.FieldByIndex(f.Index), def.FieldByIndex(f.Index)
		switch {
		case v.Kind == yaml.MappingNode && f.Type.Kind() == reflect.Struct:
			compareDefaults(t, v, g, d, path, checked)
		case v.Kind == yaml.SequenceNode && f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			for j, item := range v.Content {
				var itemDef reflect.Value
				switch f.Type.Elem() {
				case reflect.TypeFor[Provider]():
					itemDef = reflect.ValueOf(bareProvider())
				default:
					itemDef = reflect.New(f.Type.Elem()).Elem()
				}
				compareDefaults(t, item, g.Index(j), itemDef, path+"["+strconv.Itoa(j)+"]", checked)
			}
		case v.Kind == yaml.ScalarNode:
			*checked++
			if !reflect.DeepEqual(g.Interface(), d.Interface()) {
				t.Errorf("%s: the example shows %s, the default is %v: show the default or mark it %q", path, v.Value, d.Interface(), "# "+exampleMarker+"; default …")
			}
		}
	}
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if strings.Split(f.Tag.Get("koanf"), ",")[0] == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
