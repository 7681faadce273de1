package daemon

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/awf-broker/awf-broker/broker/fake"
	"github.com/awf-broker/awf-broker/internal/agents"
)

// checkAgentLeaks fails the test if a secret the fakes minted (tokens,
// JWTs, STS keys, the job's request token, the static key) or anything
// token-shaped appears in what the agent printed, or in the logs of the
// daemon and of the sidecar or forwarder it went through.
func checkAgentLeaks(t *testing.T, pb *procBroker, agentOut string, proxies ...*agentProxy) {
	t.Helper()
	scan := &leakScan{t: t}
	scan.see("agent output", agentOut)
	scan.see("daemon log", pb.proc.Output())
	for _, p := range proxies {
		scan.see("sidecar/forwarder log", p.proc.Output())
	}
	scan.mintedBy(pb.dev)
	scan.check()
}

// TestClaudeCodeThroughSidecar: `claude -p` with a dummy API key and
// ANTHROPIC_BASE_URL at the sidecar's anthropic port gets its answer from
// the strict Messages fake, which saw only the broker's bearer (minted by
// the token endpoint fake via the GitHub OIDC exchange), on a streamed
// request carrying Claude Code's tools.
func TestClaudeCodeThroughSidecar(t *testing.T) {
	ag := requireAgents(t)
	t.Parallel()
	pb := startProcBroker(t, time.Hour)
	sc := startAgentSidecar(t, pb, []string{"anthropic"})
	out := agentRun{bin: ag.Claude, args: []string{"-p", "Say hello."}, env: []string{
		"ANTHROPIC_BASE_URL=" + sc.url("anthropic"),
		"ANTHROPIC_API_KEY=" + placeholderKey("sk-ant-api03-"),
	}}.run(t, ag)
	if !strings.Contains(out, fake.MessagesReply) {
		t.Errorf("claude did not print the fake's answer %q; it printed:\n%s", fake.MessagesReply, out)
	}
	calls := pb.dev.API.Calls()
	if !slices.ContainsFunc(calls, func(c fake.MessagesCall) bool { return c.Stream && c.Tools > 0 }) {
		t.Errorf("the fake saw no streamed request with tools (Claude Code's turn): %+v", calls)
	}
	if n := pb.dev.API.Unauthenticated(); n != 0 {
		t.Errorf("the Messages fake refused %d requests for their credentials", n)
	}
	// The sidecar keeps Claude Code's betas beside the OAuth beta it adds.
	for _, h := range pb.dev.API.Headers() {
		if beta := h.Get("anthropic-beta"); !strings.Contains(beta, "claude-code-20250219") || !strings.Contains(beta, "oauth-2025-04-20") {
			t.Errorf("upstream anthropic-beta %q lacks Claude Code's beta or the OAuth beta", beta)
		}
	}
	checkAgentLeaks(t, pb, out, sc)
}

// bedrockOnOpenAIPort serves the --dev "bedrock" credential on the
// sidecar's port 10000, where the api-proxy (and env mode) serves a cloud
// OIDC credential.
var bedrockOnOpenAIPort = []string{"--credential", "openai=bedrock"}

// TestClaudeCodeOnBedrockThroughSidecar: Claude Code in Bedrock mode
// (CLAUDE_CODE_USE_BEDROCK, no signing of its own) at the sidecar's port
// of the AWS credential: the Bedrock fake verified every request's SigV4
// against the keys its STS issued to the broker and served Claude's
// streamed invoke.
func TestClaudeCodeOnBedrockThroughSidecar(t *testing.T) {
	ag := requireAgents(t)
	t.Parallel()
	pb := startProcBroker(t, time.Hour)
	br := pb.dev.AWS.Bedrock
	sc := startAgentSidecar(t, pb, []string{"openai"}, bedrockOnOpenAIPort...)
	out := agentRun{bin: ag.Claude, args: []string{"-p", "Say hello."}, env: []string{
		"CLAUDE_CODE_USE_BEDROCK=1", "CLAUDE_CODE_SKIP_BEDROCK_AUTH=1",
		"ANTHROPIC_BEDROCK_BASE_URL=" + sc.url("openai"), "AWS_REGION=us-east-1",
	}}.run(t, ag)
	if !strings.Contains(out, fake.BedrockReply) {
		t.Errorf("claude did not print the Bedrock fake's answer %q; it printed:\n%s", fake.BedrockReply, out)
	}
	if !slices.ContainsFunc(br.Models(), func(m string) bool { return strings.Contains(m, "anthropic.claude") }) {
		t.Errorf("the Bedrock fake served no Claude model: %v", br.Models())
	}
	if n := br.Refused(""); n != 0 {
		t.Errorf("the Bedrock fake refused %d signatures", n)
	}
	checkAgentLeaks(t, pb, out, sc)
}

// codexConfig is a CODEX_HOME config.toml with a custom provider at
// baseURL, over WebSocket when ws is true.
func codexConfig(baseURL string, ws bool) string {
	return `model = "gpt-fake-1"
model_provider = "awf"
check_for_update_on_startup = false

[analytics]
enabled = false

[model_providers.awf]
name = "awf-broker sidecar"
base_url = "` + baseURL + `"
env_key = "OPENAI_API_KEY"
wire_api = "responses"
supports_websockets = ` + map[bool]string{true: "true", false: "false"}[ws] + `
`
}

// runCodex runs `codex exec` with a dummy OPENAI_API_KEY against baseURL
// and returns its output and the prompt's nonce.
func runCodex(t *testing.T, ag agents.Set, baseURL string, ws bool) (string, string) {
	t.Helper()
	home := t.TempDir()
	writeFile(t, filepath.Join(home, "config.toml"), codexConfig(baseURL, ws))
	word := nonce()
	out := agentRun{bin: ag.Codex, args: []string{"exec", "--skip-git-repo-check", "Say hello to " + word + "."}, env: []string{
		"CODEX_HOME=" + home, "OPENAI_API_KEY=" + placeholderKey("sk-proj-"),
	}}.run(t, ag)
	return out, word
}

// TestCodexThroughSidecar: `codex exec` with a dummy key and a custom
// provider at the sidecar's openai port (HTTP transport) gets its
// streamed answer from the strict Responses fake, which saw only bearers
// the OpenAI token fake minted for the broker.
func TestCodexThroughSidecar(t *testing.T) {
	ag := requireAgents(t)
	t.Parallel()
	pb := startProcBroker(t, time.Hour)
	sc := startAgentSidecar(t, pb, []string{"openai"})
	out, word := runCodex(t, ag, sc.url("openai"), false)
	if !strings.Contains(out, fake.ResponsesReply) {
		t.Errorf("codex did not print the fake's answer %q; it printed:\n%s", fake.ResponsesReply, out)
	}
	c := pb.dev.Clouds.Responses.Counts()
	if c.Streamed == 0 || c.Refused != 0 || c.Invalid != 0 || c.Upgrades != 0 {
		t.Errorf("Responses fake saw %+v; want streamed requests only, none refused or invalid", c)
	}
	if in := strings.Join(pb.dev.Clouds.Responses.LastInput(), "\n"); !strings.Contains(in, word) {
		t.Errorf("the fake's last input lacks the prompt's %q:\n%s", word, in)
	}
	checkAgentLeaks(t, pb, out, sc)
}

// TestCodexOverWebSocketThroughSidecar: with supports_websockets the
// provider's Responses transport is a WebSocket; through the sidecar the
// fake accepted the upgrade on the broker's bearer and answered every
// response.create on it, and Codex never fell back to HTTP.
func TestCodexOverWebSocketThroughSidecar(t *testing.T) {
	ag := requireAgents(t)
	t.Parallel()
	pb := startProcBroker(t, time.Hour)
	sc := startAgentSidecar(t, pb, []string{"openai"})
	out, word := runCodex(t, ag, sc.url("openai"), true)
	if !strings.Contains(out, fake.ResponsesReply) {
		t.Errorf("codex did not print the fake's answer %q; it printed:\n%s", fake.ResponsesReply, out)
	}
	c := pb.dev.Clouds.Responses.Counts()
	if c.Upgrades == 0 || c.Messages == 0 || c.HTTP != 0 || c.Refused != 0 || c.Invalid != 0 {
		t.Errorf("Responses fake saw %+v; want WebSocket messages only, no HTTP fallback, none refused or invalid", c)
	}
	if in := strings.Join(pb.dev.Clouds.Responses.LastInput(), "\n"); !strings.Contains(in, word) {
		t.Errorf("the fake's last input lacks the prompt's %q:\n%s", word, in)
	}
	checkAgentLeaks(t, pb, out, sc)
}

// TestBedrockSDKForJavaScriptOverH2C: the AWS SDK for JavaScript v3's
// Bedrock Runtime client with its default handler speaks HTTP/2 with prior
// knowledge to the sidecar's http:// endpoint; Converse, ConverseStream
// and InvokeModel each get the fake's answer, every request signed by the
// broker and verified by the Bedrock fake.
func TestBedrockSDKForJavaScriptOverH2C(t *testing.T) {
	ag := requireAgents(t)
	t.Parallel()
	pb := startProcBroker(t, time.Hour)
	br := pb.dev.AWS.Bedrock
	sc := startAgentSidecar(t, pb, []string{"openai"}, bedrockOnOpenAIPort...)
	out := agentRun{bin: ag.Node, args: []string{filepath.Join(ag.Dir, "bedrock-sdk.mjs")}, dir: ag.Dir,
		env: []string{"BEDROCK_ENDPOINT=" + sc.url("openai")}}.run(t, ag)
	for _, want := range []string{
		"converse: " + fake.BedrockReply,
		"converse-stream: " + fake.BedrockReply,
		"invoke: " + fake.BedrockReply,
		"handler: NodeHttp2Handler",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the script's output lacks %q:\n%s", want, out)
		}
	}
	if n := br.Served(); n != 3 {
		t.Errorf("the Bedrock fake served %d requests, want 3 (Converse, ConverseStream, InvokeModel)", n)
	}
	if n := br.Refused(""); n != 0 {
		t.Errorf("the Bedrock fake refused %d signatures", n)
	}
	checkAgentLeaks(t, pb, out, sc)
}
