// Package fake holds strict in-process fakes of the upstream endpoints:
// GitHub Actions OIDC, the token endpoints of Anthropic, AWS STS, Google
// STS and IAM Credentials, Microsoft Entra and OpenAI, and the APIs behind
// them (Anthropic Messages, Bedrock Runtime, the bearer APIs). They verify what the real services verify, mint their
// secrets at run time, can be told to fail, and serve both the tests and
// `awf-brokerd --dev`.
package fake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// claims are the JWT claims the fakes issue and check.
type claims struct {
	Iss        string `json:"iss"`
	Sub        string `json:"sub"`
	Aud        string `json:"aud"`
	Iat        int64  `json:"iat"`
	Nbf        int64  `json:"nbf"`
	Exp        int64  `json:"exp"`
	Jti        string `json:"jti"`
	Repository string `json:"repository,omitempty"`
	Ref        string `json:"ref,omitempty"`
	RunID      string `json:"run_id,omitempty"`
	Actor      string `json:"actor,omitempty"`
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

func signJWT(key *rsa.PrivateKey, kid string, c claims) (string, error) {
	h, _ := json.Marshal(jwtHeader{Alg: "RS256", Typ: "JWT", Kid: kid})
	p, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signing := b64(h) + "." + b64(p)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + b64(sig), nil
}

// verifyJWT checks an RS256 signature and returns the header and claims.
func verifyJWT(pub *rsa.PublicKey, tok string) (jwtHeader, claims, error) {
	var h jwtHeader
	var c claims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return h, c, errors.New("malformed assertion")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return h, c, errors.New("malformed assertion")
	}
	if json.Unmarshal(hb, &h) != nil || json.Unmarshal(pb, &c) != nil {
		return h, c, errors.New("malformed assertion")
	}
	if h.Alg != "RS256" {
		return h, c, fmt.Errorf("unsupported alg %q", h.Alg)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return h, c, errors.New("bad signature")
	}
	return h, c, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// randomString returns n random bytes, base64url encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
