package api_test

import (
	"testing"

	"github.com/awf-broker/awf-broker/api"
)

func TestServing(t *testing.T) {
	for state, want := range map[string]bool{
		api.StatePending:    false,
		api.StateReady:      true,
		api.StateRefreshing: true,
		api.StateDegraded:   true,
		api.StateExpired:    false,
		api.StateFailed:     false,
		"":                  false,
		"unknown":           false,
	} {
		if got := api.Serving(state); got != want {
			t.Errorf("Serving(%q) = %v, want %v", state, got, want)
		}
	}
}
