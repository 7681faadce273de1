package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/secret"
)

// completedJob is what GitHub answers once the job that owns the request
// token has finished (google-github-actions/auth#267): terminal.
const completedJob = "Can't issue ID_TOKEN for job in 'Completed' state"

// GitHubConfig configures a github-actions identity.
type GitHubConfig struct {
	Name string
	// RequestURL and RequestToken are ACTIONS_ID_TOKEN_REQUEST_URL and
	// _TOKEN; empty means "register at run time".
	RequestURL   string
	RequestToken secret.Value
	// AllowedHosts are the https hosts a request URL may name (exact or
	// "*." wildcard); a loopback URL is always allowed.
	AllowedHosts []string
	HTTP         *http.Client
	Logger       hclog.Logger
}

// GitHubActions mints GitHub Actions OIDC JWTs, a fresh one per Mint.
type GitHubActions struct {
	name    string
	allowed []string
	http    *http.Client
	log     hclog.Logger
	reg     atomic.Pointer[registration]
	gen     atomic.Uint64
}

// Registration is a job's request URL and token, checked by Prepare and
// ready to Install.
type Registration struct {
	url   *url.URL
	token secret.Value
}

// registration is immutable but for completed; Install swaps in a new one.
type registration struct {
	url   *url.URL
	token secret.Value
	// completed is set once GitHub said the job has completed: the
	// request token will never mint again, so GitHub is not asked again.
	completed atomic.Bool
}

// NewGitHubActions returns the identity, registered if cfg names a URL.
func NewGitHubActions(cfg GitHubConfig) (*GitHubActions, error) {
	if cfg.HTTP == nil {
		cfg.HTTP = provider.NewHTTPClient(provider.HTTPConfig{})
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	g := &GitHubActions{name: cfg.Name, allowed: cfg.AllowedHosts, http: cfg.HTTP, log: cfg.Logger.Named("identity." + cfg.Name)}
	if cfg.RequestURL != "" {
		if err := g.Register(cfg.RequestURL, cfg.RequestToken); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// Prepare checks a request URL and token (an absolute URL, https or
// loopback, to an allowed host; a token) and returns them as a
// Registration, installing nothing.
func (g *GitHubActions) Prepare(rawURL string, token secret.Value) (*Registration, error) {
	u, err := g.checkURL(rawURL)
	if err != nil {
		return nil, err
	}
	if token.IsZero() {
		return nil, fmt.Errorf("identity %q: the request token is empty", g.name)
	}
	return &Registration{url: u, token: token}, nil
}

// Install makes r the registration (a new job), replacing any earlier one
// and bumping the generation.
func (g *GitHubActions) Install(r *Registration) {
	g.reg.Store(&registration{url: r.url, token: r.token})
	g.gen.Add(1)
	g.log.Info("identity registered", "identity", g.name, "host", r.url.Host)
}

// Register prepares and installs a request URL and token.
func (g *GitHubActions) Register(rawURL string, token secret.Value) error {
	r, err := g.Prepare(rawURL, token)
	if err != nil {
		return err
	}
	g.Install(r)
	return nil
}

// Holds reports whether r is the registration installed now: registering
// the same job twice must change nothing (the runner's job-started hook
// may run again for the same job). A registration GitHub called completed
// is held by no one: registering again replaces it.
func (g *GitHubActions) Holds(r *Registration) bool {
	reg := g.reg.Load()
	if reg == nil || reg.completed.Load() {
		return false
	}
	return r.url.String() == reg.url.String() && reg.token.Equal(r.token)
}

// Clear forgets the registration and bumps the generation.
func (g *GitHubActions) Clear() {
	g.reg.Store(nil)
	g.gen.Add(1)
	g.log.Info("identity cleared", "identity", g.name)
}

// Registered reports whether a request URL and token are installed.
func (g *GitHubActions) Registered() bool { return g.reg.Load() != nil }

// Generation counts registrations and clearings; tokens minted under one
// generation must not serve under another.
func (g *GitHubActions) Generation() uint64 { return g.gen.Load() }

func (g *GitHubActions) checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("identity %q: the request URL is not an absolute URL", g.name)
	}
	host := u.Hostname()
	if provider.IsLoopbackHost(host) && (u.Scheme == "http" || u.Scheme == "https") {
		return u, nil
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("identity %q: the request URL must be https (plain http only to a loopback address)", g.name)
	}
	for _, p := range g.allowed {
		if MatchHost(p, host) {
			return u, nil
		}
	}
	return nil, fmt.Errorf("identity %q: request host %q is not in allowed_request_hosts", g.name, host)
}

// Mint asks GitHub for a new JWT for audience.
func (g *GitHubActions) Mint(ctx context.Context, audience string) (secret.Value, error) {
	reg := g.reg.Load()
	if reg == nil {
		return secret.Value{}, &provider.Error{Kind: provider.Permanent, Op: "mint", Code: api.CodeNotRegistered,
			Detail: fmt.Sprintf("identity %q has no request URL registered", g.name)}
	}
	if reg.completed.Load() {
		return secret.Value{}, jobCompletedError()
	}
	u := *reg.url
	q := u.Query()
	if audience != "" {
		q.Set("audience", audience)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return secret.Value{}, &provider.Error{Kind: provider.Permanent, Op: "mint", Detail: "cannot build the request"}
	}
	req.Header.Set("Authorization", "Bearer "+reg.token.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := g.http.Do(req)
	if err != nil {
		// The error of a failed request names the URL; keep only the host.
		return secret.Value{}, &provider.Error{Kind: provider.Transient, Op: "mint", Detail: "GitHub OIDC endpoint " + u.Host + " unreachable", Err: unwrapURLError(err)}
	}
	body, err := provider.ReadBody(resp)
	if err != nil {
		return secret.Value{}, &provider.Error{Kind: provider.Transient, Op: "mint", Status: resp.StatusCode, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		err := mintError(resp.StatusCode, body)
		if err.Code == codeJobCompleted && reg.completed.CompareAndSwap(false, true) {
			// Purge every token minted from this job (DESIGN §5): they
			// are bound to the generation, which moves on.
			g.gen.Add(1)
			g.log.Warn("job completed; its tokens are purged and GitHub is not asked again until a new registration", "identity", g.name)
		}
		return secret.Value{}, err
	}
	var out struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return secret.Value{}, &provider.Error{Kind: provider.Transient, Op: "mint", Status: resp.StatusCode, Code: "malformed_response", Detail: "GitHub OIDC answer is not JSON"}
	}
	if out.Value == "" {
		return secret.Value{}, &provider.Error{Kind: provider.Transient, Op: "mint", Status: resp.StatusCode, Code: "malformed_response", Detail: "GitHub OIDC answer has no value"}
	}
	if err := checkJWT(out.Value); err != nil {
		return secret.Value{}, &provider.Error{Kind: provider.Transient, Op: "mint", Status: resp.StatusCode, Code: "malformed_response", Detail: "GitHub OIDC value is " + err.Error()}
	}
	return secret.New(out.Value), nil
}

// codeJobCompleted is the error code of a mint refused for a completed job.
const codeJobCompleted = "job_completed"

// jobCompletedError is the refusal of a mint for a completed job.
func jobCompletedError() *provider.Error {
	return &provider.Error{Kind: provider.Permanent, Op: "mint", Code: codeJobCompleted,
		Detail: "the job that owns the request token has completed"}
}

func mintError(status int, body []byte) *provider.Error {
	var msg struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &msg)
	e := &provider.Error{Kind: provider.KindOfStatus(status), Op: "mint", Status: status}
	switch {
	case strings.Contains(msg.Message, completedJob):
		done := jobCompletedError()
		e.Kind, e.Code, e.Detail = done.Kind, done.Code, done.Detail
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Kind, e.Code, e.Detail = provider.Permanent, "unauthorized", "GitHub refused the request token"
	default:
		e.Detail = provider.Redact(body)
	}
	return e
}

// unwrapURLError drops *url.Error's URL (it carries the query) and keeps
// the cause.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
