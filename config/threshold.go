package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// ThresholdAuto is the value of routing.threshold that asks switchyard to
// set each route's threshold itself.
const ThresholdAuto = "auto"

// Threshold is routing.threshold: a fixed score, or "auto".
//
// With auto (the default), each route without a threshold of its own gets
// one calibrated at build time from the built-in task library: the library
// prompts of the task types the route's condition is grounded in are its
// positives, every other library prompt (general questions included) a
// negative. When the default route has a condition of its own (a MAS file,
// or any route set whose fallback is one of its conditions), auto means no
// threshold at all: the best condition always wins, as MAS does.
type Threshold struct {
	Auto  bool    // calibrate (see above); Value is unused
	Value float64 // the fixed threshold when !Auto
}

// FixedThreshold is a Threshold of v.
func FixedThreshold(v float64) Threshold { return Threshold{Value: v} }

// AutoThreshold is the "auto" Threshold.
func AutoThreshold() Threshold { return Threshold{Auto: true} }

// String is "auto" or the number.
func (t Threshold) String() string {
	if t.Auto {
		return ThresholdAuto
	}
	return strconv.FormatFloat(t.Value, 'f', -1, 64)
}

// MarshalYAML writes "auto" or the number, as the file would hold it.
func (t Threshold) MarshalYAML() (any, error) {
	if t.Auto {
		return ThresholdAuto, nil
	}
	return t.Value, nil
}

// thresholdHook decodes a Threshold from "auto", a number, or a number in
// a string (environment values are strings).
func thresholdHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeFor[Threshold]() || from == to {
		return data, nil
	}
	switch v := data.(type) {
	case string:
		s := strings.TrimSpace(v)
		if strings.EqualFold(s, ThresholdAuto) {
			return AutoThreshold(), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("want a number or %q, got %q", ThresholdAuto, clip(s))
		}
		return FixedThreshold(f), nil
	case float64:
		return FixedThreshold(v), nil
	case float32:
		return FixedThreshold(float64(v)), nil
	case int:
		return FixedThreshold(float64(v)), nil
	case int64:
		return FixedThreshold(float64(v)), nil
	case uint64:
		return FixedThreshold(float64(v)), nil
	}
	return nil, fmt.Errorf("want a number or %q, got %s", ThresholdAuto, valueName(data))
}
