package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/awf-broker/awf-broker/broker/config"
	"github.com/awf-broker/awf-broker/broker/provider/static"
)

// identityFingerprint stands for what an identity is built from, but its
// allow list (who may register it is the access policy's business and
// does not end a registration).
func identityFingerprint(id config.Identity) string {
	id.Allow = config.Allow{}
	return digest(id)
}

// credentialFingerprint stands for everything a credential is built from:
// its config (but its allow list, which is the policy's), the daemon's
// wait_for_token, the identity it exchanges, and the contents of its
// value_file, so that a rotated key file is a changed credential on
// SIGHUP (DESIGN §5, Files).
func credentialFingerprint(c config.Credential, wait time.Duration, identity string) (string, error) {
	c.Allow = config.Allow{}
	var file string
	if c.ValueFile != "" {
		// Read through the file-trust rule; the value itself never
		// leaves the provider package, only its SHA-256.
		sum, err := static.FileFingerprint(c.ValueFile)
		if err != nil {
			return "", fmt.Errorf("credential %q: %w", c.Name, err)
		}
		file = sum
	}
	return digest(struct {
		Credential config.Credential
		Wait       time.Duration
		Identity   string
		File       string
	}{c, wait, identity, file}), nil
}

// digest is the SHA-256 of v's JSON form (config structs encode fully
// and deterministically: no maps).
func digest(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fingerprint: %v", err)) // config structs always encode
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
