package aws

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

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
	// Room for the signature's three headers too: sign adds them in place.
	hdr := make(http.Header, 5)
	hdr["X-Amz-Content-Sha256"] = []string{sum}
	if ct := req.Headers["content-type"]; ct != "" {
		hdr["Content-Type"] = []string{ct}
	}
	creds := sdkaws.Credentials{
		AccessKeyID:     tok.AWS.AccessKeyID,
		SecretAccessKey: tok.AWS.SecretAccessKey.Reveal(),
		SessionToken:    tok.AWS.SessionToken.Reveal(),
		Source:          "awf-broker",
	}
	signed, err := sign(p.signer, creds, req.Method, req.URL, hdr, sum, SigningName, p.cfg.Region, p.cfg.Now())
	if err != nil {
		return provider.Grant{}, err
	}
	set := map[string]string{
		"authorization":        signed.Get("Authorization"),
		"x-amz-date":           signed.Get("X-Amz-Date"),
		"x-amz-security-token": signed.Get("X-Amz-Security-Token"),
		"x-amz-content-sha256": sum,
	}
	return provider.Grant{Set: set}, nil
}

// sign is the one call of the SDK's SigV4 signer: it signs method and the
// URL with hdr (canonical names; nil: none) and the body hash for service
// and region at t, and returns hdr with the signature's headers added in
// place. The signer escapes the already escaped path once more (%3A signs
// as %253A), as every service but S3 requires; the SigV4 known-answer
// tests call it as Headers does.
func sign(signer *v4.Signer, creds sdkaws.Credentials, method string, in *url.URL, hdr http.Header, bodySHA256, service, region string, t time.Time) (http.Header, error) {
	if hdr == nil {
		hdr = make(http.Header, 3)
	}
	u := &url.URL{Scheme: in.Scheme, Host: in.Host, Path: in.Path, RawPath: in.RawPath, RawQuery: in.RawQuery}
	r := &http.Request{Method: method, URL: u, Host: u.Host, Header: hdr}
	if err := signer.SignHTTP(context.Background(), creds, r, bodySHA256, service, region, t); err != nil {
		return nil, fmt.Errorf("aws: sign: %w", err)
	}
	return r.Header, nil
}
