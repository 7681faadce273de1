package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// TestWriteRoundTrip: what Write renders, Parse reads back to the same
// Config, for the fullest file we have (every provider, identity kinds,
// allow lists, admin, metrics).
func TestWriteRoundTrip(t *testing.T) {
	cfg, _ := loadTestdata(t, "good-full.hcl")
	cfg.Metrics.AllowRemote = true
	cfg.Metrics.Listen = "0.0.0.0:9464"
	cfg.Limits = Limits{LeasesPerUID: 3, SubscribersPerUID: 2, ConnectionsPerUID: 9}
	cfg.Credentials[0].LeaseMaxLifetime = 2 * time.Hour
	out := Write(cfg)
	back, err := Parse(out, "written.hcl")
	if err != nil {
		t.Fatalf("Parse(Write(cfg)): %v\n%s", err, out)
	}
	back.Source = cfg.Source
	if !reflect.DeepEqual(back, cfg) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v\nfile:\n%s", back, cfg, out)
	}
	for _, want := range []string{`credential "bedrock" {`, `role_arn`, `allow_remote = true`, `"0660"`, "leases_per_uid", `lease_max_lifetime`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("written file lacks %q:\n%s", want, out)
		}
	}
}

// TestCredentialAttributesRoundTrip: every attribute the credential block
// accepts is read into a field and written back by Write, so none is
// accepted and then silently dropped.
func TestCredentialAttributesRoundTrip(t *testing.T) {
	decode := func(src string) Credential {
		t.Helper()
		f, diags := hclsyntax.ParseConfig([]byte(src), "t.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", src, diags)
		}
		var e errs
		root := decodeBody(&e, "t.hcl", f.Body.(*hclsyntax.Body), schema, "", Pos{File: "t.hcl"})
		if err := e.err(); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		return newDraft("t.hcl").credential(root.children["credential"][0])
	}
	attrs := schema.blocks["credential"].attrs
	if len(attrs) < 30 {
		t.Fatalf("only %d credential attributes", len(attrs))
	}
	for name, k := range attrs {
		val := `"90m"` // a string, and a duration
		if k == kStrings {
			val = `["h.example.com"]`
		}
		c := decode("credential \"x\" {\n  " + name + " = " + val + "\n}\n")
		if reflect.DeepEqual(c, Credential{Name: "x"}) {
			t.Errorf("%s: accepted but read into no field", name)
			continue
		}
		out := Write(&Config{Credentials: []Credential{c}})
		if back := decode(string(out)); !reflect.DeepEqual(back, c) {
			t.Errorf("%s: written as\n%s\nread back %+v, want %+v", name, out, back, c)
		}
	}
}
