package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestWriteRoundTrip: what Write renders, Parse reads back to the same
// Config, for the fullest file we have (every provider, identity kinds,
// allow lists, admin, metrics).
func TestWriteRoundTrip(t *testing.T) {
	cfg, _ := loadTestdata(t, "good-full.hcl")
	cfg.Metrics.AllowRemote = true
	cfg.Metrics.Listen = "0.0.0.0:9464"
	out := Write(cfg)
	back, err := Parse(out, "written.hcl")
	if err != nil {
		t.Fatalf("Parse(Write(cfg)): %v\n%s", err, out)
	}
	back.Source = cfg.Source
	if !reflect.DeepEqual(back, cfg) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v\nfile:\n%s", back, cfg, out)
	}
	for _, want := range []string{`credential "bedrock" {`, `role_arn`, `allow_remote = true`, `"0660"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("written file lacks %q:\n%s", want, out)
		}
	}
}
