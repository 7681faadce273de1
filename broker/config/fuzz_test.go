package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no input panics, and every refusal is an Errors list whose
// entries all say where (a line, or the whole file for a syntax error).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/config/*.hcl")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := Parse(src, "fuzz.hcl")
		if err == nil {
			if cfg.Socket.Path == "" || cfg.WaitForToken <= 0 {
				t.Fatalf("accepted config without defaults: %+v", cfg)
			}
			for _, c := range cfg.Credentials {
				if c.LeaseTTL <= 0 || c.LeaseTTL > MaxLeaseTTL {
					t.Fatalf("accepted lease_ttl %v", c.LeaseTTL)
				}
			}
			return
		}
		es, ok := err.(Errors)
		if !ok || len(es) == 0 {
			t.Fatalf("refusal is %T, not Errors", err)
		}
	})
}
