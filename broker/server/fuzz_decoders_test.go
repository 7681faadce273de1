package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/api"
)

// decodeRefusal decodes body into v and checks that a refusal is a 4xx
// problem with a code; it reports whether body was accepted.
func decodeRefusal(t *testing.T, body []byte, v any) (*api.Problem, bool) {
	t.Helper()
	r := httptest.NewRequest("POST", "/v1/x", bytes.NewReader(body))
	err := decode(httptest.NewRecorder(), r, v, false, time.Second)
	if err == nil {
		return nil, true
	}
	var p *api.Problem
	if !errors.As(err, &p) || p.Status < 400 || p.Status >= 500 || p.Code == "" {
		t.Fatalf("refusal %v is not a 4xx problem", err)
	}
	return p, false
}

// FuzzDecodeCreateLease: any body of POST /v1/leases is decoded or
// refused with a 4xx problem; nothing panics; what is accepted survives
// an encode/decode round trip unchanged (the decoder keeps nothing it
// cannot say again).
func FuzzDecodeCreateLease(f *testing.F) {
	for _, s := range []string{`{"credential":"anthropic"}`, `{"credential":"a","hosts":["x"],"methods":["POST"],"path_prefixes":["/v1"],"ttl":"5m","label":"l","bind":"process"}`,
		`{"credential":1}`, `{"hosts":"x"}`, `{"credential":"a","colour":1}`, `[]`, `{"credential":"a"} x`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req api.CreateLeaseRequest
		if _, ok := decodeRefusal(t, body, &req); !ok {
			return
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(req); err != nil {
			t.Fatal(err)
		}
		again := buf.Bytes()
		if len(again) > MaxBodyBytes {
			return // invalid UTF-8 came back as U+FFFD, three bytes each
		}
		var back api.CreateLeaseRequest
		if p, ok := decodeRefusal(t, again, &back); !ok {
			t.Fatalf("re-encoded body (%d bytes) refused: %v", len(again), p)
		}
		if !reflect.DeepEqual(nilEmpty(req), nilEmpty(back)) {
			t.Fatalf("round trip changed %.200q into %.200q", fmt.Sprint(req), fmt.Sprint(back))
		}
	})
}

// nilEmpty maps empty lists to nil (omitempty drops them).
func nilEmpty(r api.CreateLeaseRequest) api.CreateLeaseRequest {
	for _, l := range []*[]string{&r.Hosts, &r.Methods, &r.PathPrefixes} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return r
}

// FuzzDecodeIdentityRegistration: the body of PUT /v1/identities/{name}
// carries a request token; whatever surrounds it, a refusal never echoes
// the token.
func FuzzDecodeIdentityRegistration(f *testing.F) {
	f.Add(`{"request_url":"https://x/_apis/token","request_token":`, "tok-secret-value-123", `}`)
	f.Add(`{"request_token":`, "tok-secret-value-123", `,"request_url":1}`)
	f.Add(`{"request_token":`, "tok-secret-value-123", `,"colour":"x"}`)
	f.Add(`{"request_token":`, "tok-secret-value-123", ``)
	f.Add(`{"request_token":`, "tok-secret-value-123", `}}`)
	f.Fuzz(func(t *testing.T, before, token, after string) {
		// The token in value position, as a client sends it (in key
		// position it would be a field name, which refusals do name).
		if len(token) < 8 || strings.ContainsAny(token, `"\`) || !strings.HasSuffix(strings.TrimSpace(before), ":") {
			return
		}
		body := before + strconv.Quote(token) + after
		var reg api.IdentityRegistration
		p, ok := decodeRefusal(t, []byte(body), &reg)
		if ok {
			return
		}
		if strings.Contains(p.Detail, token) || strings.Contains(p.Title, token) {
			t.Fatalf("refusal %q echoes the request token", p.Detail)
		}
	})
}
