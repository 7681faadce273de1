package forward

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/awf-broker/awf-broker/api"
)

func TestPlanSidecar(t *testing.T) {
	creds := []api.CredentialStatus{
		{Name: "anthropic", Provider: "anthropic", Target: "https://api.anthropic.com", Hosts: []string{"api.anthropic.com"}},
		{Name: "openai", Provider: "openai", Target: "https://api.openai.com/v1", Hosts: []string{"api.openai.com"}},
		{Name: "gemini", Provider: "static", Target: "https://generativelanguage.googleapis.com"},
		{Name: "vertex", Provider: "gcp", Hosts: []string{"*-aiplatform.googleapis.com"}},
		{Name: "bedrock", Provider: "aws", Target: "https://bedrock-runtime.us-east-1.amazonaws.com"},
	}
	gw, _ := url.Parse("http://127.0.0.1:9/v1")
	cases := []struct {
		name  string
		creds []api.CredentialStatus
		ups   map[string]*url.URL
		want  string
		pick  map[string]string
	}{
		{"nothing leasable: the management port only", nil, nil, "openai:10000:-:openai", nil},
		{"names outside the table are not served; openai's bare public target gets /v1", creds[:3], nil,
			"openai:10000:https://api.openai.com/v1:openai anthropic:10001:https://api.anthropic.com:anthropic gemini:10003:https://generativelanguage.googleapis.com:gcp", nil},
		{"an override replaces the target", creds[:1], map[string]*url.URL{"anthropic": gw}, "openai:10000:-:openai anthropic:10001:http://127.0.0.1:9/v1:anthropic", nil},
		{"a credential without a single target", creds[3:4], nil,
			`port 10004 (credential "vertex"): no single target host (hosts *-aiplatform.googleapis.com); give --upstream vertex=URL`, nil},
		{"an override fills a missing target", creds[3:4], map[string]*url.URL{"vertex": gw}, "openai:10000:-:openai vertex:10004:http://127.0.0.1:9/v1:gcp", nil},
		{"an override for a name not leasable", creds[:1], map[string]*url.URL{"copilot": gw},
			`--upstream copilot: refusing port 10002: the broker lets this caller lease no credential named "copilot" (not defined, or not in its allow list)`, nil},
		{"an override for a name outside the table", creds, map[string]*url.URL{"bedrock": gw},
			"--upstream bedrock: not an api-proxy provider (want one of openai, anthropic, copilot, gemini, vertex)", nil},
		{"a port served by a credential of another name", append(creds[:3:3], creds[4]), nil,
			"openai:10000:https://bedrock-runtime.us-east-1.amazonaws.com:aws=bedrock anthropic:10001:https://api.anthropic.com:anthropic gemini:10003:https://generativelanguage.googleapis.com:gcp",
			map[string]string{"openai": "bedrock"}},
		{"a chosen credential the caller may not lease", creds[:3], nil,
			`--credential anthropic: refusing port 10001: the broker lets this caller lease no credential named "anthropic-key" (not defined, or not in its allow list)`,
			map[string]string{"anthropic": "anthropic-key"}},
		{"a choice for a name outside the table", creds, nil,
			"--credential bedrock: not an api-proxy provider (want one of openai, anthropic, copilot, gemini, vertex)",
			map[string]string{"bedrock": "openai"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs, err := planSidecar(c.creds, SidecarBasePort, c.pick, c.ups)
			got := ""
			if err != nil {
				got = err.Error()
			} else {
				var parts []string
				for _, r := range rs {
					u := "-"
					if r.upstream != nil {
						u = r.upstream.String()
					}
					cred := "-"
					if r.cred != nil && r.cred.Name != r.name {
						cred = r.cred.Name
					}
					parts = append(parts, fmt.Sprintf("%s:%d:%s:%s", r.name, r.port, u, r.errShape))
					if cred != "-" {
						parts[len(parts)-1] += "=" + cred
					}
				}
				got = strings.Join(parts, " ")
			}
			if got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}
