package tokens

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/internal/testlog"
)

// Every exchange gets one audit line at info, and no line carries a token.
// The retry after the failure is 5 s away: the 1 s backoff is raised to
// ExchangeSpacing.
func TestAuditLines(t *testing.T) {
	var buf testlog.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Name: "awf-brokerd", Output: &buf, JSONFormat: true, Level: hclog.Info})
	ex := newScripted(step{lifetime: time.Hour}, step{err: errTransient})
	h := start(t, ex, func(c *Config) { c.Logger = logger })
	h.waitExchange(1)
	h.advanceTo(t0.Add(45 * time.Minute))
	h.waitExchange(2)
	eventually(t, "two audit lines", func() bool { return strings.Count(buf.String(), "\n") == 2 })

	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(buf.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%v: %s", err, sc.Bytes())
		}
		lines = append(lines, m)
	}
	want := []map[string]any{
		{"@level": "info", "@module": "awf-brokerd.refresh.anthropic", "@message": "exchange",
			"credential": "anthropic", "provider": "anthropic", "outcome": "ok", "expires_in": "1h0m0s",
			"request_id": "req_1", "duration": "0s"},
		{"@level": "info", "@module": "awf-brokerd.refresh.anthropic", "@message": "exchange",
			"credential": "anthropic", "provider": "anthropic", "outcome": "error", "request_id": "",
			"error": errTransient.Error(), "retry_in": "5s", "duration": "0s"},
	}
	for i, w := range want {
		for k, v := range w {
			if lines[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v", i+1, k, lines[i][k], v)
			}
		}
	}
	if strings.Contains(buf.String(), "tok-secret") {
		t.Fatalf("a token reached the log:\n%s", buf.String())
	}
}
