package daemon

import (
	"context"
	"errors"
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/server"
	"github.com/awf-broker/awf-broker/broker/tokens"
)

// credential adapts a token cache and its provider to server.Credential.
type credential struct {
	info  server.CredentialInfo
	cache *tokens.Credential
	prov  provider.Provider
	// identity is the name of the identity it exchanges, "" for static.
	identity string
	// cfg is the config it was built from; a reload compares it.
	cfg config.Credential
	// valueFingerprint identifies the value_file's value it was built
	// with (value.go); a reload compares it too.
	valueFingerprint string
	// stop ends its refresh loop (nil until the loop starts).
	stop context.CancelFunc
}

func (c *credential) Info() server.CredentialInfo { return c.info }

func (c *credential) Status() api.Credential {
	return toAPI(c.cache.Status(), c.info)
}

func (c *credential) Headers(ctx context.Context, req *provider.Request) (provider.Grant, time.Time, error) {
	e, err := c.cache.Token(ctx)
	if err != nil {
		return provider.Grant{}, time.Time{}, tokenProblem(err)
	}
	g, err := c.prov.Headers(&e.Token, req)
	if err != nil {
		return provider.Grant{}, time.Time{}, refusalProblem(err)
	}
	return g, e.ServeUntil, nil
}

func (c *credential) Refresh(ctx context.Context) (api.Credential, error) {
	st, err := c.cache.Refresh(ctx)
	if err != nil && ctx.Err() != nil {
		return api.Credential{}, tokenProblem(err)
	}
	// A failed refresh is reported in the state (last_error), not as an error.
	return toAPI(st, c.info), nil
}

func (c *credential) Invalidate(ctx context.Context) (api.Credential, error) {
	st, _, err := c.cache.Invalidate(ctx)
	if err != nil && ctx.Err() != nil {
		return api.Credential{}, tokenProblem(err)
	}
	return toAPI(st, c.info), nil
}

// tokenProblem maps the cache's errors onto the API's codes.
func tokenProblem(err error) error {
	var ue *tokens.UnavailableError
	var fe *tokens.FailedError
	switch {
	case errors.As(err, &ue):
		return &api.Problem{Status: http.StatusServiceUnavailable, Code: api.CodeCredentialUnavailable,
			Detail: ue.Error(), RetryAfter: int(math.Ceil(max(ue.RetryAfter, time.Second).Seconds()))}
	case errors.As(err, &fe):
		return &api.Problem{Status: http.StatusServiceUnavailable, Code: api.CodeCredentialFailed,
			Detail: fe.Error(), UpstreamCode: fe.Code}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &api.Problem{Status: http.StatusServiceUnavailable, Code: api.CodeCredentialUnavailable,
			Detail: "no valid token before the request ended", RetryAfter: 1}
	}
	return err
}

// refusalProblem maps a provider's refusal to sign onto the API's codes.
func refusalProblem(err error) error {
	var re *provider.RefusalError
	switch {
	case !errors.As(err, &re):
		return err
	case re.Scope:
		return &api.Problem{Status: http.StatusForbidden, Code: api.CodeScopeViolation, Detail: re.Reason}
	default:
		return &api.Problem{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Detail: re.Reason}
	}
}

func toAPI(st tokens.Status, info server.CredentialInfo) api.Credential {
	return api.Credential{
		Name: st.Name, Provider: st.Provider, State: string(st.State),
		ExpiresAt: timePtr(st.ExpiresAt), NextRefreshAt: timePtr(st.NextRefreshAt), LastRefreshAt: timePtr(st.LastRefreshAt),
		LastError: st.LastError, LastErrorCode: st.LastErrorCode, Refreshes: st.Refreshes, Failures: st.Failures,
		Hosts: info.Hosts, LeaseTTL: info.LeaseTTL.String(), NeedsBodySHA256: info.NeedsBodySHA256,
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Second)
	return &u
}

// credSet is the credentials the server serves. A reload swaps the whole
// snapshot at once, so lookups on the header path take no lock and always
// see one consistent config.
type credSet struct {
	cur atomic.Pointer[credSnap]
}

// credSnap is one immutable set of credentials.
type credSnap struct {
	byName map[string]*credential
	sorted []server.Credential
}

func newCredSnap(m map[string]*credential) *credSnap {
	return &credSnap{byName: m, sorted: sortedCreds(m)}
}

// load returns the current snapshot.
func (s *credSet) load() *credSnap { return s.cur.Load() }

func (s *credSet) Get(name string) (server.Credential, bool) {
	c, ok := s.cur.Load().byName[name]
	if !ok {
		return nil, false
	}
	return c, true
}

func (s *credSet) All() []server.Credential { return s.cur.Load().sorted }
