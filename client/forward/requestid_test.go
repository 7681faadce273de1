package forward

import (
	"net/http"
	"strings"
	"testing"
)

// TestRequestIDAndCookie: a sane client x-request-id travels upstream and
// comes back; anything else is replaced by a fresh id, also echoed (on the
// forwarder's own failures too); cookies never leave the forwarder.
func TestRequestIDAndCookie(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cases := []struct {
		name, sent string
		kept       bool
	}{
		{"sane id kept", "req_01-ABC.def", true},
		{"id with a space replaced", "req 1", false},
		{"id with markup replaced", "req<script>", false},
		{"overlong id replaced", strings.Repeat("a", 129), false},
		{"no id: one generated", "", false},
	}
	for i, c := range cases {
		hdr := map[string]string{"Cookie": "session=agent"}
		if c.sent != "" {
			hdr["X-Request-Id"] = c.sent
		}
		resp, body := h.do("POST", "/v1/messages", strings.NewReader(`{}`), hdr)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", c.name, resp.StatusCode, body)
		}
		up := h.up.requests()[i].Header
		id := up.Get("X-Request-Id")
		if c.kept && id != c.sent || !c.kept && (id == c.sent || !saneRequestID(id)) {
			t.Errorf("%s: upstream x-request-id %q", c.name, id)
		}
		if resp.Header.Get("X-Request-Id") != id || len(resp.Header.Values("X-Request-Id")) != 1 {
			t.Errorf("%s: echoed %q, upstream saw %q", c.name, resp.Header.Values("X-Request-Id"), id)
		}
		if up.Get("Cookie") != "" {
			t.Errorf("%s: upstream received the agent's cookie", c.name)
		}
	}
	// A refusal the forwarder answers itself still carries the id.
	resp, _ := h.do("GET", "/a/../b", nil, map[string]string{"X-Request-Id": "req-refused"})
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Request-Id") != "req-refused" {
		t.Errorf("refusal: %d x-request-id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
}
