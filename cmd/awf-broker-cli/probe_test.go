package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestProbeAsCurl: the exit codes AWF's `curl -f …/health` healthcheck reads.
func TestProbeAsCurl(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"status":"healthy"}`))
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/health"
	ln.Close()
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"-f", srv.URL + "/health"}, 0, `{"status":"healthy"}`},
		{[]string{"-f", strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/health"}, 0, `{"status":"healthy"}`},
		{[]string{"-fsS", srv.URL + "/nope"}, 22, ""},
		{[]string{"-f", dead}, 7, ""},
		{[]string{"-X", "POST", srv.URL}, 2, ""},
		{[]string{"-f"}, 2, ""},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := probe(context.Background(), c.args, &out, &errb); code != c.code || out.String() != c.out {
			t.Errorf("curl %q: exit %d out %q (stderr %s), want %d %q", c.args, code, out.String(), errb.String(), c.code, c.out)
		}
	}
}
