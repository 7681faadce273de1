package provider

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSeconds(t *testing.T) {
	cases := map[string]struct {
		n   float64
		set bool
		ok  bool
	}{
		`3600`: {3600, true, true}, `"3599"`: {3599, true, true}, `3599.5`: {3599.5, true, true},
		`null`: {0, false, true}, `"soon"`: {0, false, false}, `true`: {0, false, false}, `"NaN"`: {0, false, false},
	}
	for in, want := range cases {
		var s Seconds
		err := json.Unmarshal([]byte(in), &s)
		if (err == nil) != want.ok || s.N != want.n || s.Set != want.set {
			t.Errorf("%s: %+v %v, want %+v", in, s, err, want)
		}
	}
}

func TestLifetimeOf(t *testing.T) {
	cases := []struct {
		s    float64
		want time.Duration
		ok   bool
	}{
		{0, 0, false}, {-1, 0, false}, {math.NaN(), 0, false}, {math.Inf(-1), 0, false},
		{1e-12, time.Nanosecond, true}, {0.1, 100 * time.Millisecond, true}, {3600, time.Hour, true},
		{999999, 999999 * time.Second, true}, // not clamped: the token cache does that
		{9.2e9, 9.2e9 * time.Second, true},
		{9.3e9, math.MaxInt64, true}, {1e12, math.MaxInt64, true}, {math.Inf(1), math.MaxInt64, true},
	}
	for _, c := range cases {
		if got, ok := LifetimeOf(c.s); got != c.want || ok != c.ok {
			t.Errorf("LifetimeOf(%v) = %v, %v; want %v, %v", c.s, got, ok, c.want, c.ok)
		}
	}
}

func TestBearerToken(t *testing.T) {
	cases := []struct {
		body     string
		fallback time.Duration
		lifetime time.Duration
		problem  string
	}{
		{`{"access_token":"t","token_type":"Bearer","expires_in":3599}`, 0, 3599 * time.Second, ""},
		{`{"access_token":"t","token_type":"bearer","expires_in":"60"}`, 0, time.Minute, ""},
		{`{"access_token":"t"}`, time.Hour, time.Hour, ""},
		{`{"access_token":"t","expires_in":999999}`, 0, 999999 * time.Second, ""}, // the token cache clamps
		{`{"access_token":"t","expires_in":1000000000000}`, 0, math.MaxInt64, ""}, // no overflow
		{`{"access_token":"t"}`, 0, 0, "no expires_in"},
		{`{"access_token":"t","expires_in":0}`, 0, 0, "zero or negative"},
		{`{"access_token":"t","expires_in":-1}`, time.Hour, 0, "zero or negative"},
		{`{"access_token":"t","token_type":"mac","expires_in":60}`, 0, 0, `token_type "mac"`},
		{`{"expires_in":60}`, 0, 0, "no access_token"},
		{`{"access_token":"SECRET","expires_in":"x"}`, 0, 0, "not the expected JSON"},
		{`{"access_token":"SECRET`, 0, 0, "invalid JSON"},
		{`{"access_token":["SECRET"]}`, 0, 0, `field "access_token" has the wrong type`},
	}
	for _, c := range cases {
		a := &TokenAnswer{Op: "exchange", Status: 200, Body: []byte(c.body), RequestID: "r1"}
		tok, err := a.BearerToken(c.fallback)
		if c.problem == "" {
			if err != nil || tok.Lifetime != c.lifetime || tok.Value.Reveal() != "t" || tok.RequestID != "r1" {
				t.Errorf("%s: %+v %v", c.body, tok, err)
			}
			continue
		}
		pe, ok := AsError(err)
		if !ok || pe.Kind != Transient || pe.Code != "malformed_response" || !strings.Contains(err.Error(), c.problem) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: %v, want malformed %q", c.body, err, c.problem)
		}
	}
}

func TestPostTokenUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := NewHTTPClient(HTTPConfig{RetryMax: 1, RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	_, err = PostToken(context.Background(), c, TokenCall{Op: "exchange", URL: "http://" + addr + "/tok?secret=QUERY", ContentType: "application/json"})
	pe, ok := AsError(err)
	if !ok || pe.Kind != Transient || !strings.Contains(err.Error(), "unreachable") || strings.Contains(err.Error(), "QUERY") {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = PostToken(ctx, c, TokenCall{Op: "exchange", URL: "http://" + addr + "/tok", ContentType: "application/json"})
	if pe, ok := AsError(err); !ok || pe.Kind != Transient || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestFailure(t *testing.T) {
	h := http.Header{}
	a := &TokenAnswer{Op: "impersonate", Status: 503, Header: h, Body: []byte(`<html>SECRET</html>`), RequestID: "r", RetryAfter: time.Second}
	e := a.Failure(Transient)
	if e.Code != "Service Unavailable" || strings.Contains(e.Error(), "SECRET") || e.RetryAfter != time.Second || e.Op != "impersonate" {
		t.Fatalf("%+v", e)
	}
}
