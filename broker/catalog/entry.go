// Package catalog holds what the broker serves, one immutable snapshot at
// a time: the credentials (each a token cache and its provider, adapted to
// the server) and the identities, with identity binding (DESIGN §5): a
// job's registration ending purges its tokens and revokes its leases. The
// daemon builds the entries and swaps the snapshots; the server and the
// access policy read them.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/awf-broker/awf-broker/api"
	"github.com/awf-broker/awf-broker/broker/provider"
	"github.com/awf-broker/awf-broker/broker/reload"
	"github.com/awf-broker/awf-broker/broker/server"
	"github.com/awf-broker/awf-broker/broker/tokens"
)

// Entry is one served credential: a token cache and its provider, adapted
// to server.Issuer.
type Entry struct {
	info  server.Description
	cache *tokens.Cache
	prov  provider.Provider
	// identity is the name of the identity it exchanges, "" for static.
	identity string
	// plan is what a reload compares of it.
	plan reload.Spec
	// stop ends its refresh loop (nil until the loop starts).
	stop context.CancelFunc
	// unbound, when set, reports whether its run-time identity has no job
	// registered.
	unbound func() bool
}

// NewEntry returns the entry of a built credential: its description, its
// token cache and provider, the identity it exchanges ("" for none) and
// what a reload compares of it, and for a credential of a run-time
// identity, whether that identity has no job registered (else nil).
func NewEntry(info server.Description, cache *tokens.Cache, prov provider.Provider, identity string, plan reload.Spec, unbound func() bool) *Entry {
	return &Entry{info: info, cache: cache, prov: prov, identity: identity, plan: plan, unbound: unbound}
}

// LeaseGate refuses new leases while the credential's run-time identity
// has no job registered. Such a lease could serve nothing, and the next
// job's registration would revoke it (DESIGN §5) — stopping for good a
// forwarder started before the job, such as a runner pod's sidecar. A
// retryable 503 makes the forwarder wait for the job instead.
func (c *Entry) LeaseGate() error {
	if c.unbound == nil || !c.unbound() {
		return nil
	}
	return &api.Problem{Status: http.StatusServiceUnavailable, Code: api.CodeCredentialUnavailable, RetryAfter: 1,
		Detail: fmt.Sprintf("identity %q has no job registered yet (the runner's job-started hook registers it)", c.identity)}
}

// Cache returns its token cache.
func (c *Entry) Cache() *tokens.Cache { return c.cache }

// Plan returns what a reload compares of the credential.
func (c *Entry) Plan() reload.Spec { return c.plan }

// Info returns the credential's fixed description.
func (c *Entry) Info() server.Description { return c.info }

// Status returns the credential's state.
func (c *Entry) Status() api.CredentialStatus {
	return toAPI(c.cache.Status(), c.info)
}

// Pending reports whether its first exchange has not ended yet.
func (c *Entry) Pending() bool {
	st := c.cache.Status()
	return st.State == api.StatePending && st.Failures == 0
}

// Start runs its refresh loop under parent, counted by wg, until parent
// ends or Retire.
func (c *Entry) Start(parent context.Context, wg *sync.WaitGroup) {
	ctx, cancel := context.WithCancel(parent)
	c.stop = cancel
	wg.Add(1)
	go func() { defer wg.Done(); c.cache.Run(ctx) }()
}

// Retire stops its refresh loop and drops its token, so a request still
// holding it gets a retryable 503 and looks again.
func (c *Entry) Retire() {
	if c.stop != nil {
		c.stop()
	}
	c.cache.Purge()
}

// Headers returns the header change for one request and until when the
// token behind it is valid.
func (c *Entry) Headers(ctx context.Context, req *provider.Request) (provider.Grant, time.Time, error) {
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

// Refresh exchanges now and returns the new state.
func (c *Entry) Refresh(ctx context.Context) (api.CredentialStatus, error) {
	st, err := c.cache.Refresh(ctx)
	if err != nil && ctx.Err() != nil {
		return api.CredentialStatus{}, tokenProblem(err)
	}
	// A failed refresh is reported in the state (last_error), not as an error.
	return toAPI(st, c.info), nil
}

// Invalidate drops a token an upstream refused and re-exchanges.
func (c *Entry) Invalidate(ctx context.Context) (api.CredentialStatus, error) {
	st, _, err := c.cache.Invalidate(ctx)
	if err != nil && ctx.Err() != nil {
		return api.CredentialStatus{}, tokenProblem(err)
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

func toAPI(st tokens.Status, info server.Description) api.CredentialStatus {
	return api.CredentialStatus{
		Name: st.Name, Provider: st.Provider, State: string(st.State),
		ExpiresAt: timePtr(st.ExpiresAt), NextRefreshAt: timePtr(st.NextRefreshAt), LastRefreshAt: timePtr(st.LastRefreshAt),
		LastError: st.LastError, LastErrorCode: st.LastErrorCode, Refreshes: st.Refreshes, Failures: st.Failures,
		Hosts: info.Hosts, Target: info.Target, LeaseTTL: info.LeaseTTL.String(), NeedsBodySHA256: info.NeedsBodySHA256,
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC().Truncate(time.Second)
	return &u
}
