package aws

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"

	"github.com/awf-broker/awf-broker/broker/provider"
)

// awsSuffixes are the DNS suffixes of AWS service endpoints.
var awsSuffixes = []string{".amazonaws.com.cn", ".amazonaws.com", ".api.aws"}

// runtimeLabels name Bedrock Runtime in an endpoint host.
var runtimeLabels = map[string]bool{"bedrock-runtime": true, "bedrock-runtime-fips": true}

// checkHost refuses hosts the credential must never sign for: any STS
// endpoint (a signature there could mint more credentials), any other AWS
// service, and Bedrock Runtime in another region. A host outside AWS's
// domains (a loopback fake, a private gateway) was allowed by the lease's
// scope and is signed for the configured region.
func (p *Provider) checkHost(host string) error {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	base := ""
	for _, s := range awsSuffixes {
		if strings.HasSuffix(host, s) {
			base = strings.TrimSuffix(host, s)
			break
		}
	}
	if base == "" {
		if host == "amazonaws.com" || host == "amazonaws.com.cn" || host == "api.aws" {
			return &provider.RefusalError{Scope: true, Reason: fmt.Sprintf("host %q is not a Bedrock Runtime endpoint", host)}
		}
		return nil
	}
	labels := strings.Split(base, ".")
	for _, l := range labels {
		if l == "sts" || strings.HasPrefix(l, "sts-") {
			return &provider.RefusalError{Scope: true, Reason: fmt.Sprintf("host %q is an STS endpoint; the aws provider never signs for STS", host)}
		}
	}
	for i, l := range labels {
		if !runtimeLabels[l] {
			continue
		}
		if i+1 >= len(labels) {
			break
		}
		if region := labels[i+1]; region != p.cfg.Region {
			return &provider.RefusalError{Scope: true, Reason: fmt.Sprintf("host %q is in region %q; this credential signs only for %q", host, region, p.cfg.Region)}
		}
		return nil
	}
	return &provider.RefusalError{Scope: true, Reason: fmt.Sprintf("host %q is not a Bedrock Runtime endpoint", host)}
}

// isHexSHA256 reports whether s is 64 lower-case hex digits.
func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Headers signs the request with SigV4 for Bedrock Runtime and returns
// authorization, x-amz-date, x-amz-security-token and x-amz-content-sha256.
// It signs host, content-type (when the client sent one) and the x-amz-*
// headers it sets: headers an intermediary may rewrite are left unsigned,
// and the body is covered by its hash.
func (p *Provider) Headers(tok *provider.Token, req *provider.Request) (provider.Grant, error) {
	if tok == nil || tok.AWS == nil {
		return provider.Grant{}, fmt.Errorf("aws: the token holds no AWS credentials")
	}
	sum := strings.ToLower(req.BodySHA256)
	if !isHexSHA256(sum) {
		return provider.Grant{}, &provider.RefusalError{Reason: "body_sha256 is required for an aws credential: the hex SHA-256 of the request body"}
	}
	if req.URL == nil || req.URL.Host == "" {
		return provider.Grant{}, &provider.RefusalError{Reason: "the request URL must be absolute"}
	}
	if err := p.checkHost(req.URL.Hostname()); err != nil {
		return provider.Grant{}, err
	}
	u := &url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host, Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	r := &http.Request{Method: req.Method, URL: u, Host: u.Host, Header: make(http.Header, 4)}
	if ct := req.Headers["content-type"]; ct != "" {
		r.Header["Content-Type"] = []string{ct}
	}
	r.Header["X-Amz-Content-Sha256"] = []string{sum}
	creds := sdkaws.Credentials{
		AccessKeyID:     tok.AWS.AccessKeyID,
		SecretAccessKey: tok.AWS.SecretAccessKey.Reveal(),
		SessionToken:    tok.AWS.SessionToken.Reveal(),
		Source:          "awf-broker",
	}
	// The signer escapes the already escaped path once more (%3A signs as
	// %253A), as Bedrock, not being S3, requires.
	if err := p.signer.SignHTTP(context.Background(), creds, r, sum, SigningName, p.cfg.Region, p.cfg.Now()); err != nil {
		return provider.Grant{}, fmt.Errorf("aws: sign: %w", err)
	}
	set := map[string]string{
		"authorization":        r.Header.Get("Authorization"),
		"x-amz-date":           r.Header.Get("X-Amz-Date"),
		"x-amz-security-token": r.Header.Get("X-Amz-Security-Token"),
		"x-amz-content-sha256": sum,
	}
	return provider.Grant{Set: set}, nil
}
