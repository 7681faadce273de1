package apitest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The validator must be able to fail: a body that breaks the schema.
func TestValidateCatchesDrift(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "http://unix/v1/health", nil)
	h := http.Header{"Content-Type": {"application/json"}}
	if err := s.Validate(req, 200, h, []byte(`{"status":"ok","version":"1"}`)); err != nil {
		t.Fatalf("a conforming body failed: %v", err)
	}
	for _, bad := range []string{`{"status":"ok"}`, `{"status":"ok","version":"1","token":"x"}`, `{"status":"down","version":"1"}`} {
		if err := s.Validate(req, 200, h, []byte(bad)); err == nil {
			t.Errorf("non-conforming body %s passed", bad)
		}
	}
	if err := s.Validate(req, 418, h, []byte(`{}`)); err == nil {
		t.Error("an undocumented status passed")
	}
	lreq := httptest.NewRequest("GET", "http://unix/v1/leases/x", nil)
	lease := `{"id":"6f1c2a9e-3b7d-4c1e-9a55-2d8e4f6b7c10","credential":"a","scope":{"hosts":["h"]},"holder":{"uid":1,"gid":1,"pid":1},"bind":"uid","state":"active","created_at":"2026-01-01T00:00:00Z","expires_at":"2026-01-01T00:00:00Z","requests":0,"needs_body_sha256":false}`
	if err := s.Validate(lreq, 200, h, []byte(lease)); err != nil {
		t.Fatalf("a conforming lease failed: %v", err)
	}
	withSecret := strings.TrimSuffix(lease, "}") + `,"secret":"awfl_x"}`
	if err := s.Validate(lreq, 200, h, []byte(withSecret)); err == nil {
		t.Error("a lease carrying a secret passed: unevaluatedProperties is not enforced")
	}
	if len(s.Violations()) < 4 {
		t.Errorf("violations not recorded: %d", len(s.Violations()))
	}
}
