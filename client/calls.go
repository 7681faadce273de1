package client

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/awf-broker/awf-broker/api"
)

// Health asks whether the broker is alive.
func (c *Client) Health(ctx context.Context) (*api.Health, error) {
	var out api.Health
	return &out, c.do(ctx, http.MethodGet, "/v1/health", "", nil, &out)
}

// Ready asks whether every credential is ready; a 503 is not an error.
func (c *Client) Ready(ctx context.Context) (*api.Ready, error) {
	var out api.Ready
	return &out, c.do(ctx, http.MethodGet, "/v1/ready", "", nil, &out, http.StatusOK, http.StatusServiceUnavailable)
}

// Credentials lists the credentials the caller may see.
func (c *Client) Credentials(ctx context.Context) ([]api.CredentialStatus, error) {
	var out api.CredentialList
	err := c.do(ctx, http.MethodGet, "/v1/credentials", "", nil, &out)
	return out.Credentials, err
}

// Credential returns one credential.
func (c *Client) Credential(ctx context.Context, name string) (*api.CredentialStatus, error) {
	var out api.CredentialStatus
	return &out, c.do(ctx, http.MethodGet, "/v1/credentials/"+escape(name), "", nil, &out)
}

// Refresh forces a credential's refresh and returns its new state.
func (c *Client) Refresh(ctx context.Context, name string) (*api.CredentialStatus, error) {
	var out api.CredentialStatus
	return &out, c.do(ctx, http.MethodPost, "/v1/credentials/"+escape(name)+"/refresh", "", nil, &out)
}

// CreateLease creates a lease; the secret in the answer is shown only once.
func (c *Client) CreateLease(ctx context.Context, req api.CreateLeaseRequest) (*api.CreatedLease, error) {
	var out api.CreatedLease
	return &out, c.do(ctx, http.MethodPost, "/v1/leases", "", req, &out)
}

// Leases lists the leases the caller may see.
func (c *Client) Leases(ctx context.Context) ([]api.Lease, error) {
	var out api.LeaseList
	err := c.do(ctx, http.MethodGet, "/v1/leases", "", nil, &out)
	return out.Leases, err
}

// Lease returns one lease.
func (c *Client) Lease(ctx context.Context, id string) (*api.Lease, error) {
	var out api.Lease
	return &out, c.do(ctx, http.MethodGet, "/v1/leases/"+escape(id), "", nil, &out)
}

// RenewLease extends a lease by ttl ("" for its own TTL).
func (c *Client) RenewLease(ctx context.Context, id, ttl string) (*api.Lease, error) {
	var out api.Lease
	return &out, c.do(ctx, http.MethodPost, "/v1/leases/"+escape(id)+"/renew", "", api.RenewLeaseRequest{TTL: ttl}, &out)
}

// RevokeLease revokes a lease and returns it.
func (c *Client) RevokeLease(ctx context.Context, id string) (*api.Lease, error) {
	var out api.Lease
	return &out, c.do(ctx, http.MethodDelete, "/v1/leases/"+escape(id), "", nil, &out)
}

// Headers asks for the headers of one outgoing request.
func (c *Client) Headers(ctx context.Context, id, secret string, req *api.HeadersRequest) (*api.HeadersResponse, error) {
	var out api.HeadersResponse
	return &out, c.do(ctx, http.MethodPost, "/v1/leases/"+escape(id)+"/headers", secret, req, &out)
}

// Invalidate reports that the upstream refused the lease's headers.
func (c *Client) Invalidate(ctx context.Context, id, secret string) (*api.CredentialStatus, error) {
	var out api.CredentialStatus
	return &out, c.do(ctx, http.MethodPost, "/v1/leases/"+escape(id)+"/invalidate", secret, nil, &out)
}

// RegisterIdentity registers a job's GitHub request URL and token.
func (c *Client) RegisterIdentity(ctx context.Context, name string, reg api.IdentityRegistration) (*api.Identity, error) {
	var out api.Identity
	return &out, c.do(ctx, http.MethodPut, "/v1/identities/"+escape(name), "", reg, &out)
}

// ClearIdentity forgets a registration.
func (c *Client) ClearIdentity(ctx context.Context, name string) (*api.Identity, error) {
	var out api.Identity
	return &out, c.do(ctx, http.MethodDelete, "/v1/identities/"+escape(name), "", nil, &out)
}

// Metrics returns the Prometheus text (admin).
func (c *Client) Metrics(ctx context.Context) (string, error) {
	resp, err := c.send(ctx, http.MethodGet, "/metrics", "", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return "", fmt.Errorf("GET /metrics: read answer: %w", err)
	}
	return string(b), nil
}
